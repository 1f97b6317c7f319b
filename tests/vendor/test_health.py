"""Health records presented to the vendor as a doctor: kept while the grant runs, then deleted.

The store-level tests run on SQLite and on PostgreSQL; each confirmation is read back as
the person's agent reads it: decrypted with the pairwise DID's key and verified. The
last tests run the sweeper on the real clock and call the endpoint's API in-process.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import Engine, func, select

from tests.agent.health.bundles import only, sample
from tests.vendor.people import VENDOR, message, queued, request
from vrm.protocol import (
    HEALTH_DELETED,
    HEALTH_PRESENTATION,
    HEALTH_WITHDRAW,
    RELATIONSHIP_STATE,
    HealthDeleted,
    Identity,
    Message,
    ProtocolError,
    RefusalCode,
    Verifier,
    compose,
    decrypt,
    health_types,
)
from vrm.protocol.v1.health import rfc3339
from vrm.transport.background import running
from vrm.transport.client import AsgiTransport
from vrm.vendor.api import create_vendor_app
from vrm.vendor.config import settings_from
from vrm.vendor.endpoint import VendorEndpoint
from vrm.vendor.health import HealthPresentations
from vrm.vendor.jobs import MESSAGE_QUEUE
from vrm.vendor.records import Policy, PolicyMode, Records
from vrm.vendor.schema import health_presentations

TOKEN = "vendor-api-token"
HOUR = 3600.0


class Clock:
    """The endpoint's time, moved by the test (it starts at the real time: messages say it)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class Practice:
    """A doctor's records and health presentations on one store, on the test's clock."""

    def __init__(self, engine: Engine, *, mode: str = "accept_all") -> None:
        self.engine = engine
        self.clock = Clock()
        self.records = Records(
            engine, identity=VENDOR, policy=Policy(PolicyMode(mode)), adapters=[], clock=self.clock
        )
        self.health = HealthPresentations(engine, outgoing=self.records.outgoing)

    def patient(self) -> Identity:
        """A person whose relationship (under SD-BASE, accepted by the policy) is in force."""
        person = Identity.generate()
        self.records.receive(request(person))
        return person

    def present(self, person: Identity, body: dict[str, Any], *, at: float | None = None) -> bool:
        return self.health.receive(
            signed(person, HEALTH_PRESENTATION, body, now=at or self.clock())
        )

    def withdraw(self, person: Identity, presentation: str, reason: str = "revoked") -> bool:
        body = {"presentation": presentation, "reason": reason}
        return self.health.receive(signed(person, HEALTH_WITHDRAW, body, now=self.clock()))


def signed(person: Identity, type: str, body: dict[str, Any], *, now: float) -> Message:
    """A message from ``person`` to the vendor, verified as its inbox verifies it."""
    _, token = compose(person, type=type, to=VENDOR.did, body=body, now=now)
    verifier = Verifier(receiver=VENDOR.did, types=health_types(), seen_ids=None, clock=lambda: now)
    return verifier.verify(token)


def presentation(
    *ids: str, until: float, name: str = "visit-00000001", version: str = "R5"
) -> dict[str, Any]:
    """A presentation of the sample's resources with these ids, until ``until``.

    The Bundle is a ``collection`` of just those entries, as the person's agent makes it.
    """
    entries = (only(*ids) if ids else sample())["entry"]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    return {
        "presentation": name,
        "purpose": "First visit: diabetes care",
        "valid_until": rfc3339(until),
        "fhir_version": version,
        "bundle": bundle,
    }


def confirmations(engine: Engine, person: Identity, *, now: float | None = None) -> list[Message]:
    """The ``health.deleted`` queued for ``person``, decrypted and verified as their agent does.

    ``now``: the agent's time (the real one by default).
    """
    clock = time.time if now is None else (lambda: now)
    verifier = Verifier(receiver=person.did, types=health_types(), seen_ids=None, clock=clock)
    found = []
    for queue, customer, payload in queued(engine):
        if queue == MESSAGE_QUEUE and customer == person.did and payload.get("encrypted"):
            opened = verifier.verify(decrypt(payload["token"], person))
            if opened.type == HEALTH_DELETED:
                found.append(opened)
    return found


def kept_content(engine: Engine) -> list[tuple[Any, Any]]:
    """What every row still holds of a presentation: (purpose, bundle)."""
    with engine.begin() as connection:
        rows = connection.execute(select(health_presentations)).all()
    return [(row.purpose, row.bundle) for row in rows]


def resource_ids(held: Any) -> list[str]:
    return [resource["id"] for resource in held.resources]


def test_a_presentation_is_held_as_presented_and_gone_once_its_grant_ends(engine: Engine) -> None:
    """Exactly the two resources, the purpose and the end; past the end none is read, and the
    sweep deletes the content and confirms it (expired), encrypted to the person."""
    practice = Practice(engine)
    person = practice.patient()
    ends = practice.clock() + HOUR
    body = presentation("cond-diabetes", "allergy-penicillin", until=ends)
    assert practice.present(person, body) is False  # nothing to send back yet

    [held] = practice.health.held(person.did)
    assert resource_ids(held) == ["cond-diabetes", "allergy-penicillin"]
    assert (held.purpose, held.fhir_version, held.valid_until) == (
        "First visit: diabetes care",
        "R5",
        float(int(ends)),
    )
    assert held.as_json(practice.clock())["seconds_left"] in (HOUR - 1, HOUR)
    assert practice.health.next_end() == float(int(ends))

    practice.clock.now = ends + 1
    assert practice.health.held(person.did) == []  # never served past its end, swept or not
    assert practice.health.sweep() == 1
    assert practice.health.sweep() == 0
    assert kept_content(engine) == [(None, None)]
    [confirmed] = confirmations(engine, person, now=practice.clock())
    assert confirmed.body == HealthDeleted(
        presentation="visit-00000001", deleted_time=int(ends + 1), reason="expired"
    )
    assert practice.health.next_end() is None


def test_a_withdrawal_deletes_at_once_and_is_confirmed_once(engine: Engine) -> None:
    """health.withdraw (revoked): the content goes; the confirmation answers the presentation."""
    practice = Practice(engine)
    person = practice.patient()
    practice.present(person, presentation("obs-hba1c", until=practice.clock() + HOUR))
    [held] = practice.health.held(person.did)

    assert practice.withdraw(person, "visit-00000001") is True
    assert practice.health.held(person.did) == []
    assert kept_content(engine) == [(None, None)]
    assert practice.withdraw(person, "visit-00000001", "expired") is False  # gone already
    [confirmed] = confirmations(engine, person)
    assert isinstance(confirmed.body, HealthDeleted)
    assert confirmed.body.reason == "revoked"
    assert confirmed.envelope.thid == held.message_id


def test_a_presentation_withdrawn_before_it_came_is_never_kept(engine: Engine) -> None:
    """The withdrawal is confirmed; the presentation arriving after it is not held."""
    practice = Practice(engine)
    person = practice.patient()
    assert practice.withdraw(person, "visit-00000001") is True
    practice.present(person, presentation("obs-hba1c", until=practice.clock() + HOUR))
    assert practice.health.held(person.did) == []
    assert kept_content(engine) == [(None, None)]
    assert len(confirmations(engine, person)) == 1


def test_only_a_customer_of_an_accepted_relationship_may_present(engine: Engine) -> None:
    """A stranger, a person still waiting for the vendor, and one who ended: wrong_recipient."""
    practice = Practice(engine, mode="manual")
    body = presentation("obs-hba1c", until=practice.clock() + HOUR)
    stranger, waiting, ended = Identity.generate(), Identity.generate(), Identity.generate()
    practice.records.receive(request(waiting))
    practice.records.receive(request(ended))
    practice.records.approve(ended.did)
    practice.records.receive(message(ended, RELATIONSHIP_STATE, {"state": "ended"}))
    for person in (stranger, waiting, ended):
        with pytest.raises(ProtocolError) as refused:
            practice.present(person, body)
        assert refused.value.code == RefusalCode.WRONG_RECIPIENT
    with pytest.raises(ProtocolError) as refused:
        practice.withdraw(stranger, "visit-00000001")
    assert refused.value.code == RefusalCode.WRONG_RECIPIENT
    assert kept_content(engine) == []


@pytest.mark.parametrize(
    ("ends", "said"),
    [(-60.0, "not after the presentation was made"), (367 * 24 * HOUR, "more than a year")],
)
def test_a_grant_ending_before_it_was_made_or_after_a_year_is_refused(
    engine: Engine, ends: float, said: str
) -> None:
    """invalid_body, saying why; nothing is kept."""
    practice = Practice(engine)
    person = practice.patient()
    with pytest.raises(ProtocolError) as refused:
        practice.present(person, presentation("obs-hba1c", until=practice.clock() + ends))
    assert refused.value.code == RefusalCode.INVALID_BODY
    assert said in refused.value.detail
    assert kept_content(engine) == []


def test_a_bundle_that_is_not_valid_fhir_is_refused_naming_where(engine: Engine) -> None:
    """A measurement whose value is not a number: invalid_body naming the entry and field."""
    practice = Practice(engine)
    person = practice.patient()
    body = presentation("obs-hba1c", until=practice.clock() + HOUR)
    body["bundle"]["entry"][0]["resource"]["valueQuantity"]["value"] = "high"
    with pytest.raises(ProtocolError) as refused:
        practice.present(person, body)
    assert refused.value.code == RefusalCode.INVALID_BODY
    assert "entry 1 (Observation): valueQuantity.value: not a number" in refused.value.detail
    assert kept_content(engine) == []


def test_ending_the_relationship_on_either_side_deletes_what_was_presented(
    engine: Engine,
) -> None:
    """The person's ended r-button and the vendor's end each delete and confirm (ended)."""
    practice = Practice(engine)
    leaving, dismissed = practice.patient(), practice.patient()
    for person in (leaving, dismissed):
        practice.present(person, presentation("obs-hba1c", until=practice.clock() + HOUR))
    assert practice.records.receive(message(leaving, RELATIONSHIP_STATE, {"state": "ended"}))
    practice.records.end(dismissed.did)
    for person in (leaving, dismissed):
        assert practice.health.held(person.did) == []
        [confirmed] = confirmations(engine, person)
        assert isinstance(confirmed.body, HealthDeleted)
        assert confirmed.body.reason == "ended"
    assert kept_content(engine) == [(None, None), (None, None)]


def test_erasure_deletes_what_was_presented_and_its_tombstone(engine: Engine) -> None:
    """Confirmed as erased; no row of the person's presentations is left."""
    practice = Practice(engine)
    person = practice.patient()
    practice.present(person, presentation("obs-hba1c", until=practice.clock() + HOUR))
    practice.records.erase(person.did)
    [confirmed] = confirmations(engine, person)
    assert isinstance(confirmed.body, HealthDeleted)
    assert confirmed.body.reason == "erased"
    assert kept_content(engine) == []


def test_the_same_presentation_twice_is_held_once(engine: Engine) -> None:
    """A second message with the same presentation id changes nothing."""
    practice = Practice(engine)
    person = practice.patient()
    practice.present(person, presentation("obs-hba1c", until=practice.clock() + HOUR))
    practice.present(person, presentation("cond-asthma", until=practice.clock() + 2 * HOUR))
    [held] = practice.health.held(person.did)
    assert resource_ids(held) == ["obs-hba1c"]
    with engine.begin() as connection:
        rows = connection.execute(select(func.count()).select_from(health_presentations))
        assert rows.scalar_one() == 1


# the sweeper, on the real clock, and the API


async def nowhere(scope: Any, receive: Any, send: Any) -> None:
    """People's inboxes: the job worker does not run in these tests."""


@pytest.fixture
async def doctor(tmp_path: Path) -> AsyncIterator[VendorEndpoint]:
    """A doctor's endpoint accepting every relationship, on SQLite, in-process."""
    settings = settings_from(
        {"name": "Leith Practice", "public_url": "https://vrm.practice.example"}
    )
    endpoint = VendorEndpoint.open(
        settings, home=tmp_path, identity=VENDOR, transport=AsgiTransport(nowhere)
    )
    yield endpoint
    await endpoint.aclose()


@pytest.mark.anyio
async def test_the_sweeper_deletes_a_grant_when_it_ends_without_being_asked(
    doctor: VendorEndpoint,
) -> None:
    """No withdrawal comes: the sweeper wakes at the end and the content is gone."""
    person = Identity.generate()
    await doctor.handle(request(person))
    ends = int(time.time()) + 2
    body = presentation("obs-hba1c", until=ends)
    async with running(doctor.health.sweeper.run()):
        await doctor.handle(signed(person, HEALTH_PRESENTATION, body, now=time.time()))
        assert len(doctor.health.held(person.did)) == 1
        with anyio.fail_after(6):
            while kept_content(doctor.engine) != [(None, None)]:
                await anyio.sleep(0.05)
    assert time.time() >= ends
    [confirmed] = confirmations(doctor.engine, person)
    assert isinstance(confirmed.body, HealthDeleted)
    assert confirmed.body.reason == "expired"


@pytest.mark.anyio
async def test_the_api_lists_what_a_customer_presents_now(doctor: VendorEndpoint) -> None:
    """GET /api/customers/{did}/health: the Bundle, purpose and end; 404 for a stranger."""
    person = Identity.generate()
    await doctor.handle(request(person))
    ends = time.time() + HOUR
    body = presentation("cond-diabetes", "imm-flu-2025", until=ends)
    await doctor.handle(signed(person, HEALTH_PRESENTATION, body, now=time.time()))
    app = create_vendor_app(doctor, api_token=TOKEN)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="https://vrm.practice.example",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as api:
        reply = await api.get(f"/api/customers/{person.did}/health")
        assert reply.status_code == 200, reply.text
        [shown] = reply.json()
        assert (shown["presentation"], shown["purpose"], shown["valid_until"]) == (
            "visit-00000001",
            "First visit: diabetes care",
            rfc3339(ends),
        )
        assert shown["bundle"] == json.loads(json.dumps(body["bundle"]))
        assert 0 < shown["seconds_left"] <= HOUR
        stranger = await api.get(f"/api/customers/{Identity.generate().did}/health")
        assert stranger.status_code == 404
        assert stranger.headers["content-type"] == "application/problem+json"
