"""Memberships from vendors: taken from their own vendor only, sealed, replaced, revoked."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agent.loyalty.cards import YEAR, credential, give, revoke
from tests.agent.vendors import Clock, VendorNetwork, connect, files_on_disk, in_clear
from vrm.agent.audit.described import describe
from vrm.agent.loyalty.desk import LoyaltyDesk
from vrm.agent.personal_agent import PersonalAgent
from vrm.protocol import Identity, PartyState, ProtocolError, RefusalCode

pytestmark = pytest.mark.anyio


def entries(person: PersonalAgent, kind: str) -> list[dict[str, object]]:
    return [e.details for e in person.audit_entries() if e.kind == kind]


async def test_a_membership_is_kept_as_signed_verified_and_audited(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """The credential reads back as the vendor signed it; the log says who made you what."""
    grocer, relationship = await connect(person, network, "Corner Grocer", clock=clock)
    signed = credential(grocer, relationship, clock=clock)
    message = give(person, grocer, relationship, signed, clock=clock)

    [record] = LoyaltyDesk(person).memberships()
    assert record.signed == signed
    assert (record.vendor_id, record.vendor_name, record.message_id) == (
        relationship.id,
        "Corner Grocer",
        message.id,
    )
    assert record.state(clock()) == "active"
    shown = record.as_json(clock())
    assert (shown["tier"], shown["programName"], shown["memberSince"]) == (
        "gold",
        "Corner Grocer Club",
        "2024-03-01",
    )
    assert shown["benefits"] == ["10% off fresh bread", "free delivery"]
    assert LoyaltyDesk(person).membership(record.id) == record

    [details] = entries(person, "membership.received")
    assert details == {
        "vendor": relationship.id,
        "membership": record.id,
        "program": "Corner Grocer Club",
        "tier": "gold",
        "replaced": False,
        "message": message.id,
    }
    [entry] = [e for e in person.audit_entries() if e.kind == "membership.received"]
    said = describe(entry, {relationship.id: "Corner Grocer"})
    assert said == f"Corner Grocer made you gold of Corner Grocer Club (membership {record.id})"


async def test_what_a_membership_says_is_sealed_at_rest(
    person: PersonalAgent, network: VendorNetwork, clock: Clock, tmp_path: Path
) -> None:
    """Program, tier, benefits, number and the credential's id appear nowhere in the files."""
    grocer, relationship = await connect(person, network, "Corner Grocer", clock=clock)
    signed = credential(grocer, relationship, clock=clock, tier="platinum-quartz")
    give(person, grocer, relationship, signed, clock=clock)
    stored = files_on_disk(person.engine, tmp_path)
    for secret in ("platinum-quartz", "Corner Grocer Club", "fresh bread", "M-0042"):
        assert not in_clear(secret, stored), secret
    assert not in_clear(signed.credential.id, stored)


async def test_a_newer_credential_with_the_same_id_replaces_the_older(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Gold, then silver with the same id: one membership, silver; gold arriving late is ignored."""
    grocer, relationship = await connect(person, network, "Corner Grocer", clock=clock)
    gold = credential(grocer, relationship, clock=clock)
    clock.advance(60)
    silver = credential(
        grocer, relationship, clock=clock, tier="silver", credential_id=gold.credential.id
    )
    give(person, grocer, relationship, gold, clock=clock)
    give(person, grocer, relationship, silver, clock=clock)
    give(person, grocer, relationship, gold, clock=clock)  # late, in a new message
    [record] = LoyaltyDesk(person).memberships()
    assert record.credential.credentialSubject.tier == "silver"
    replaced = [d["replaced"] for d in entries(person, "membership.received")]
    assert replaced == [False, True]
    [entry] = [e for e in person.audit_entries() if e.kind == "membership.received"][1:]
    said = describe(entry, {relationship.id: "Corner Grocer"})
    assert said.startswith("Corner Grocer changed your membership to silver")

    other = credential(grocer, relationship, clock=clock, tier="wine")
    give(person, grocer, relationship, other, clock=clock)
    assert len(LoyaltyDesk(person).memberships()) == 2


async def test_a_membership_from_or_of_another_party_is_refused(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Another sender, another issuer, another subject: ``wrong_recipient``, nothing kept."""
    grocer, relationship = await connect(person, network, "Corner Grocer", clock=clock)
    baker, baker_relationship = await connect(person, network, "Baker", clock=clock)
    stranger = Identity.generate()
    cases = [
        # the baker's genuine credential to this DID, sent by the baker over the grocer's DID
        (credential(grocer, relationship, clock=clock, issuer=baker.identity), baker.identity),
        # a credential the baker issued, sent by the grocer
        (credential(grocer, relationship, clock=clock, issuer=baker.identity), None),
        # the grocer's credential to the person's DID with the baker
        (credential(grocer, relationship, clock=clock, subject=baker_relationship.our_did), None),
        # anyone's
        (credential(grocer, relationship, clock=clock, issuer=stranger), stranger),
    ]
    for signed, sender in cases:
        with pytest.raises(ProtocolError) as refused:
            give(person, grocer, relationship, signed, clock=clock, sender=sender)
        assert refused.value.code == RefusalCode.WRONG_RECIPIENT
    assert LoyaltyDesk(person).memberships() == []
    assert entries(person, "membership.received") == []


@pytest.mark.parametrize("state", [None, PartyState.REFUSED, PartyState.ENDED])
async def test_a_membership_outside_an_accepted_relationship_is_refused(
    person: PersonalAgent, network: VendorNetwork, clock: Clock, state: PartyState | None
) -> None:
    """Before the vendor accepts, or once it refused or ended: ``wrong_recipient``."""
    grocer, relationship = await connect(person, network, "Corner Grocer", clock=clock, state=state)
    with pytest.raises(ProtocolError) as refused:
        give(
            person, grocer, relationship, credential(grocer, relationship, clock=clock), clock=clock
        )
    assert refused.value.code == RefusalCode.WRONG_RECIPIENT
    assert LoyaltyDesk(person).memberships() == []


async def test_a_revocation_ends_the_membership_even_after_the_relationship_ended(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Revoked with the vendor's reason, audited; the credential again does not revive it."""
    grocer, relationship = await connect(person, network, "Corner Grocer", clock=clock)
    signed = credential(grocer, relationship, clock=clock)
    give(person, grocer, relationship, signed, clock=clock)
    person.end("Corner Grocer")
    clock.advance(5)
    revoke(person, grocer, relationship, signed.credential.id, clock=clock, reason="club closed")
    revoke(person, grocer, relationship, signed.credential.id, clock=clock)  # again: no change
    [record] = LoyaltyDesk(person).memberships()
    assert (record.state(clock()), record.reason, record.revoked_at) == (
        "revoked",
        "club closed",
        clock(),
    )
    [details] = entries(person, "membership.revoked")
    assert (details["membership"], details["reason"]) == (record.id, "club closed")
    [entry] = [e for e in person.audit_entries() if e.kind == "membership.revoked"]
    said = describe(entry, {relationship.id: "Corner Grocer"})
    assert said == f"Corner Grocer ended your membership {record.id}: club closed"


async def test_a_revocation_of_a_credential_never_received_changes_nothing(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """The vendor's revocation of an id the person does not hold is taken, and does nothing."""
    grocer, relationship = await connect(person, network, "Corner Grocer", clock=clock)
    revoke(
        person, grocer, relationship, "urn:uuid:00000000-0000-4000-8000-000000000000", clock=clock
    )
    assert LoyaltyDesk(person).memberships() == []
    assert entries(person, "membership.revoked") == []


async def test_a_revoked_membership_is_not_revived_by_its_credential(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """After the revocation, a newer credential with the same id leaves it revoked."""
    grocer, relationship = await connect(person, network, "Corner Grocer", clock=clock)
    gold = credential(grocer, relationship, clock=clock)
    give(person, grocer, relationship, gold, clock=clock)
    revoke(person, grocer, relationship, gold.credential.id, clock=clock)
    clock.advance(60)
    again = credential(grocer, relationship, clock=clock, credential_id=gold.credential.id)
    give(person, grocer, relationship, again, clock=clock)
    [record] = LoyaltyDesk(person).memberships()
    assert (record.state(clock()), record.signed) == ("revoked", gold)


async def test_a_membership_past_its_end_reads_as_expired(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """From its ``validUntil`` on, the membership's state is ``expired``."""
    grocer, relationship = await connect(person, network, "Corner Grocer", clock=clock)
    give(person, grocer, relationship, credential(grocer, relationship, clock=clock), clock=clock)
    [record] = LoyaltyDesk(person).memberships()
    assert record.state(clock() + YEAR - 1) == "active"
    assert record.state(clock() + YEAR) == "expired"
