"""Health records presented to a doctor: sent encrypted, withdrawn, ended, deletion confirmed.

The doctor is an in-process vendor; what the agent sends is read as the doctor reads it
(decrypted with its key, verified), and the doctor's confirmation is signed by it and
taken as the agent's inbox takes it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agent.health.bundles import r4, sample, text
from tests.agent.vendors import (
    Clock,
    Vendor,
    VendorNetwork,
    connect,
    files_on_disk,
    from_vendor,
    in_clear,
)
from vrm.agent.audit.described import describe
from vrm.agent.errors import Conflict, NotFound
from vrm.agent.health.desk import HealthDesk
from vrm.agent.health.presentations import Presentation
from vrm.agent.outbox import store as outbox
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.relationships.service import Relationship
from vrm.protocol import (
    HEALTH_DELETED,
    HealthPresentation,
    HealthWithdraw,
    Identity,
    Message,
    PartyState,
    ProtocolError,
    RefusalCode,
    Verifier,
    decrypt,
    health_types,
)
from vrm.protocol.v1.health import rfc3339
from vrm.transport.backoff import Backoff

pytestmark = pytest.mark.anyio
HOUR = 3600.0


def ids_of(person: PersonalAgent, *resource_ids: str) -> list[int]:
    """The agent's numbers of the sample's resources with these FHIR ids."""
    held = {record.resource["id"]: record.id for record in person.health_resources()}
    return [held[resource_id] for resource_id in resource_ids]


def sent(person: PersonalAgent, doctor: Vendor, clock: Clock) -> list[Message]:
    """What the outbox would send the doctor now, each decrypted and verified as it would."""
    with person.engine.begin() as connection:
        due = outbox.due(connection, person.sealer, now=clock())
    verifier = Verifier(receiver=doctor.did, types=health_types(), seen_ids=None, clock=clock)
    found = []
    for message in due:
        if message.type.startswith("vrm/1/health."):
            assert message.encrypted
            found.append(verifier.verify(decrypt(message.token, doctor.identity)))
    return found


def delivered(person: PersonalAgent, clock: Clock) -> None:
    """Mark everything in the outbox delivered, as if the doctor took each message."""
    while True:
        with person.engine.begin() as connection:
            due = outbox.due(connection, person.sealer, now=clock())
            if not due:
                return
            outbox.record(
                connection,
                person.sealer,
                [outbox.Outcome(message.row_id, delivered=True) for message in due],
                backoff=Backoff(),
                now=clock(),
            )


def hba1c_presented(person: PersonalAgent, clock: Clock, *, duration: str) -> Presentation:
    """The sample's HbA1c presented to the doctor for ``duration``, and taken by it."""
    presented = HealthDesk(person).present(
        ids_of(person, "obs-hba1c"), "1", purpose="x", duration=duration
    )
    delivered(person, clock)
    return presented


def confirm(
    person: PersonalAgent,
    doctor: Vendor,
    relationship: Relationship,
    presented: Presentation,
    *,
    reason: str,
    clock: Clock,
    sender: Identity | None = None,
    presentation: str | None = None,
) -> None:
    """The doctor's signed ``health.deleted``, taken by the agent."""
    body = {
        "presentation": presentation or presented.presentation,
        "deleted_time": int(clock()),
        "reason": reason,
    }
    message = from_vendor(
        person,
        sender or doctor.identity,
        relationship.our_did,
        body,
        type=HEALTH_DELETED,
        clock=clock,
    )
    person.receive(message)


@pytest.fixture
async def doctor(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> tuple[Vendor, Relationship]:
    """The sample's records imported, and an active relationship with a doctor."""
    person.import_health_bundle(text(sample()), "clinic.json")
    return await connect(person, network, "Leith Practice", clock=clock)


async def test_a_presentation_sends_just_the_chosen_records_encrypted_and_audits_it(
    person: PersonalAgent, doctor: tuple[Vendor, Relationship], clock: Clock
) -> None:
    """The doctor reads a collection of exactly those two, the purpose and the end; one entry."""
    vendor, relationship = doctor
    delivered(person, clock)
    chosen = ids_of(person, "cond-diabetes", "allergy-penicillin")
    presented = HealthDesk(person).present(
        chosen, "Leith Practice", purpose="First visit", duration="7d"
    )
    assert (presented.state, presented.vendor_name, presented.deletion_confirmed) == (
        "active",
        "Leith Practice",
        False,
    )
    assert [record.kind for record in presented.records] == ["condition", "allergy"]
    assert presented.valid_until == float(int(clock() + 7 * 24 * HOUR))

    [message] = sent(person, vendor, clock)
    assert message.sender == relationship.our_did
    body = message.body
    assert isinstance(body, HealthPresentation)
    assert [entry.resource["id"] for entry in body.bundle.entry] == [
        "cond-diabetes",
        "allergy-penicillin",
    ]
    assert (body.bundle.type, body.fhir_version, body.purpose) == (
        "collection",
        "R5",
        "First visit",
    )
    assert body.valid_until == rfc3339(presented.valid_until)
    assert body.presentation == presented.presentation

    [entry] = [e for e in person.audit_entries() if e.kind == "health.presented"]
    assert entry.details == {
        "vendor": relationship.id,
        "presentation": presented.id,
        "ids": chosen,
        "types": ["Condition", "AllergyIntolerance"],
        "until": body.valid_until,
        "purpose": "First visit",
        "message": message.id,
    }
    assert describe(entry, {relationship.id: "Leith Practice"}) == (
        "You presented 2 health records (AllergyIntolerance, Condition) to Leith Practice "
        f"until {body.valid_until}, for “First visit”"
    )


async def test_what_was_presented_and_why_is_sealed_at_rest(
    person: PersonalAgent, doctor: tuple[Vendor, Relationship], tmp_path: Path
) -> None:
    """The purpose and the records' words appear nowhere in the database files."""
    HealthDesk(person).present(
        ids_of(person, "cond-diabetes"), "1", purpose="Zyzzyva clinic referral", duration="1d"
    )
    stored = files_on_disk(person.engine, tmp_path)
    for secret in ("Zyzzyva clinic referral", "Type 2 diabetes"):
        assert not in_clear(secret, stored), secret


@pytest.mark.parametrize(
    ("duration", "until", "said"),
    [
        ("10m", None, "at least 15 minutes"),
        ("53w", None, "at most a year"),
        (None, None, "not both"),
        ("7d", "2030-01-01", "not both"),
        ("soon", None, "not a duration"),
        (None, "next week", "not a date"),
        (None, "2001-01-01", "has passed already"),
    ],
)
async def test_a_grant_too_short_too_long_or_unreadable_is_refused_in_words(
    person: PersonalAgent,
    doctor: tuple[Vendor, Relationship],
    duration: str | None,
    until: str | None,
    said: str,
) -> None:
    """ValueError saying what is wrong; nothing is queued or logged."""
    with pytest.raises(ValueError, match=said):
        HealthDesk(person).present(
            ids_of(person, "obs-hba1c"), "1", purpose="Check", duration=duration, until=until
        )
    assert HealthDesk(person).presentations() == []
    assert not [e for e in person.audit_entries() if e.kind == "health.presented"]


async def test_the_shortest_grant_is_a_setting(
    person: PersonalAgent, doctor: tuple[Vendor, Relationship]
) -> None:
    """With health_grant_minimum lowered, a grant of seconds is taken."""
    person.set_config("health_grant_minimum", "2")
    presented = HealthDesk(person).present(
        ids_of(person, "obs-hba1c"), "1", purpose="Try it", duration="3s"
    )
    assert presented.state == "active"


async def test_records_go_only_over_an_active_relationship_to_known_records(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """A vendor that has not accepted: Conflict; an unknown number: NotFound; R5 with R4B:
    Conflict."""
    person.import_health_bundle(text(sample()), "clinic.json")
    person.import_health_bundle(text(r4()), "portal.json")
    await connect(person, network, "Slow Practice", clock=clock, state=None)
    desk = HealthDesk(person)
    with pytest.raises(Conflict, match="the vendor has not accepted"):
        desk.present(ids_of(person, "obs-hba1c"), "Slow Practice", purpose="x", duration="1d")
    await connect(person, network, "Leith Practice", clock=clock)
    with pytest.raises(NotFound):
        desk.present([9999], "Leith Practice", purpose="x", duration="1d")
    with pytest.raises(Conflict, match="different FHIR versions"):
        desk.present(
            ids_of(person, "obs-hba1c", "ms-7"), "Leith Practice", purpose="x", duration="1d"
        )
    with pytest.raises(ValueError, match="at least one"):
        desk.present([], "Leith Practice", purpose="x", duration="1d")
    assert desk.presentations() == []


async def test_withdrawing_tells_the_doctor_at_once_and_only_once(
    person: PersonalAgent, doctor: tuple[Vendor, Relationship], clock: Clock
) -> None:
    """health.withdraw (revoked), encrypted; the state is withdrawn; a second time: Conflict."""
    vendor, relationship = doctor
    desk = HealthDesk(person)
    presented = hba1c_presented(person, clock, duration="1d")
    withdrawn = desk.withdraw(presented.id)
    assert withdrawn.state == "withdrawn"
    [message] = sent(person, vendor, clock)
    assert message.body == HealthWithdraw(presentation=presented.presentation, reason="revoked")
    with pytest.raises(Conflict, match="withdrawn already"):
        desk.withdraw(presented.id)
    [entry] = [e for e in person.audit_entries() if e.kind == "health.withdrawn"]
    assert entry.details["reason"] == "revoked"
    assert describe(entry, {relationship.id: "Leith Practice"}).startswith(
        "You withdrew the health records presented to Leith Practice"
    )
    with pytest.raises(NotFound):
        desk.withdraw(9999)


async def test_a_grant_that_ends_is_withdrawn_once_by_housekeeping(
    person: PersonalAgent, doctor: tuple[Vendor, Relationship], clock: Clock
) -> None:
    """Past its end it reads expired at once; the sweep sends one health.withdraw (expired)."""
    vendor, relationship = doctor
    desk = HealthDesk(person)
    presented = hba1c_presented(person, clock, duration="1h")
    assert desk.sweep() == []
    clock.advance(HOUR)
    assert desk.presentation(presented.id).state == "expired"
    assert len(desk.sweep()) == 1
    assert desk.sweep() == []
    [message] = sent(person, vendor, clock)
    assert message.body == HealthWithdraw(presentation=presented.presentation, reason="expired")
    with pytest.raises(Conflict, match="expired already"):
        desk.withdraw(presented.id)
    [entry] = [e for e in person.audit_entries() if e.kind == "health.withdrawn"]
    assert describe(entry, {relationship.id: "Leith Practice"}) == (
        f"The grant of the health records presented to Leith Practice (presentation "
        f"{presented.id}) ended: it is told to delete them"
    )


async def test_the_doctor_s_confirmation_is_kept_and_ends_the_presentation(
    person: PersonalAgent, doctor: tuple[Vendor, Relationship], clock: Clock
) -> None:
    """Deleted by the doctor at the end, before housekeeping: confirmed, expired, nothing sent."""
    vendor, relationship = doctor
    desk = HealthDesk(person)
    presented = hba1c_presented(person, clock, duration="1h")
    clock.advance(HOUR)
    confirm(person, vendor, relationship, presented, reason="expired", clock=clock)
    confirm(person, vendor, relationship, presented, reason="revoked", clock=clock)  # kept once
    done = desk.presentation(presented.id)
    assert (done.state, done.deleted_at, done.deleted_because) == (
        "expired",
        float(int(clock())),
        "expired",
    )
    assert done.confirmation is not None
    assert desk.sweep() == []
    [entry] = [e for e in person.audit_entries() if e.kind == "health.deleted"]
    assert describe(entry, {relationship.id: "Leith Practice"}) == (
        "Leith Practice confirmed deleting the health records you presented "
        f"(presentation {presented.id}, expired)"
    )


async def test_a_confirmation_from_another_party_or_of_no_presentation_is_refused(
    person: PersonalAgent, doctor: tuple[Vendor, Relationship], clock: Clock
) -> None:
    """Signed by a stranger: wrong_recipient; naming an unknown presentation: invalid_body."""
    vendor, relationship = doctor
    presented = HealthDesk(person).present(
        ids_of(person, "obs-hba1c"), "1", purpose="x", duration="1d"
    )
    for sender, name, code in (
        (Identity.generate(), None, RefusalCode.WRONG_RECIPIENT),
        (None, "never-presented", RefusalCode.INVALID_BODY),
    ):
        with pytest.raises(ProtocolError) as refused:
            confirm(
                person,
                vendor,
                relationship,
                presented,
                reason="revoked",
                clock=clock,
                sender=sender,
                presentation=name,
            )
        assert refused.value.code == code
    assert HealthDesk(person).presentation(presented.id).deletion_confirmed is False


async def test_ending_the_relationship_ends_its_presentations_without_another_message(
    person: PersonalAgent, doctor: tuple[Vendor, Relationship], clock: Clock
) -> None:
    """Ended at once as read; the sweep records it and sends nothing (the end told the doctor)."""
    vendor, relationship = doctor
    desk = HealthDesk(person)
    presented = hba1c_presented(person, clock, duration="1d")
    person.end(str(relationship.id))
    delivered(person, clock)
    assert desk.presentation(presented.id).state == "ended"
    assert desk.sweep() == []
    assert sent(person, vendor, clock) == []
    confirm(person, vendor, relationship, presented, reason="ended", clock=clock)
    ended = desk.presentation(presented.id)
    assert (ended.state, ended.deleted_because) == ("ended", "ended")
    assert person.vendor(str(relationship.id)).person_state == PartyState.ENDED
