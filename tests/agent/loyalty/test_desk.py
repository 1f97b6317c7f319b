"""The loyalty desk: a membership shown at its vendor's checkout, and preferences shared."""

from __future__ import annotations

import pytest

from tests.agent.loyalty.cards import credential, give, revoke
from tests.agent.vendors import Clock, VendorNetwork, connect, deliver
from vrm.agent.audit.described import describe
from vrm.agent.errors import Conflict, NotFound
from vrm.agent.loyalty.desk import LoyaltyDesk
from vrm.agent.loyalty.preferences import BRANDS, LOYALTY, PURPOSE
from vrm.agent.outbox.worker import DeliveryWorker
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.profile.fields import InvalidField
from vrm.protocol import (
    CredentialStanding,
    MembershipRefusal,
    MembershipRefused,
    MemorySeenIds,
    verify_membership,
)

pytestmark = pytest.mark.anyio


def good(_id: str, _digest: str) -> CredentialStanding:
    return CredentialStanding.GOOD


async def test_a_presentation_is_what_the_vendor_s_checkout_accepts_and_is_audited(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Signed by the pairwise key for that vendor alone; each code shown is in the log."""
    grocer, relationship = await connect(person, network, "Corner Grocer", clock=clock)
    baker, _ = await connect(person, network, "Baker", clock=clock)
    give(person, grocer, relationship, credential(grocer, relationship, clock=clock), clock=clock)
    desk = LoyaltyDesk(person)
    [record] = desk.memberships()

    shown = desk.present(record.id, to="web")
    assert (shown.issued_at, shown.expires_at) == (int(clock()), int(clock()) + 120)
    seen = MemorySeenIds(clock)
    checked = verify_membership(
        shown.text, verifier=grocer.did, now=clock(), standing=good, seen=seen
    )
    assert (checked.holder, checked.credential.credentialSubject.tier) == (
        relationship.our_did,
        "gold",
    )
    with pytest.raises(MembershipRefused) as refused:
        verify_membership(shown.text, verifier=baker.did, now=clock(), standing=good, seen=seen)
    assert refused.value.reason == MembershipRefusal.ANOTHER_VENDOR

    again = desk.present(record.id, to="cli")
    assert again.text != shown.text
    presented = [e for e in person.audit_entries() if e.kind == "membership.presented"]
    assert [e.details["to"] for e in presented] == ["web", "cli"]
    said = describe(presented[0], {relationship.id: "Corner Grocer"})
    assert said == (
        f"You showed your gold membership of Corner Grocer (membership {record.id}) from the web"
    )
    assert shown.as_json()["presentation"] == shown.text


async def test_a_revoked_expired_or_unknown_membership_cannot_be_shown(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Revoked or past its end: 409 Conflict; no such number: NotFound; nothing is logged."""
    grocer, relationship = await connect(person, network, "Corner Grocer", clock=clock)
    revoked = credential(grocer, relationship, clock=clock)
    short = credential(grocer, relationship, clock=clock, tier="trial", valid_for=60)
    give(person, grocer, relationship, revoked, clock=clock)
    give(person, grocer, relationship, short, clock=clock)
    revoke(person, grocer, relationship, revoked.credential.id, clock=clock)
    clock.advance(61)
    desk = LoyaltyDesk(person)
    for record in desk.memberships():
        with pytest.raises(Conflict, match=r"revoked|expired"):
            desk.present(record.id, to="web")
    with pytest.raises(NotFound):
        desk.present(999, to="web")
    assert [e for e in person.audit_entries() if e.kind == "membership.presented"] == []


async def test_preferences_reach_only_the_vendors_chosen(
    person: PersonalAgent, network: VendorNetwork, clock: Clock, worker: DeliveryWorker
) -> None:
    """Chosen: granted and sent the values; not chosen: nothing; unchosen later: revoked."""
    grocer, grocer_relationship = await connect(person, network, "Corner Grocer", clock=clock)
    baker, baker_relationship = await connect(person, network, "Baker", clock=clock)
    desk = LoyaltyDesk(person)
    shared = desk.share_preferences(
        {LOYALTY: "Discounts at the till, no points", BRANDS: "Fairphone, Patagonia"},
        [grocer_relationship.id],
        changed_by="web",
    )
    assert shared.values == {
        LOYALTY: "Discounts at the till, no points",
        BRANDS: "Fairphone, Patagonia",
    }
    assert [r.id for r in shared.shared_with()] == [grocer_relationship.id]
    assert {g.purpose for _, g in person.grants(str(grocer_relationship.id))} == {PURPOSE}
    assert person.grants(str(baker_relationship.id)) == []
    await deliver(worker)
    assert grocer.holds(grocer_relationship.our_did) == {
        LOYALTY: "Discounts at the till, no points",
        BRANDS: "Fairphone, Patagonia",
    }
    assert BRANDS not in baker.holds(baker_relationship.our_did)

    changed = desk.share_preferences(
        {LOYALTY: "", BRANDS: "Fairphone"}, [baker_relationship.id], changed_by="web"
    )
    assert changed.values == {LOYALTY: None, BRANDS: "Fairphone"}
    assert [r.id for r in changed.shared_with()] == [baker_relationship.id]
    await deliver(worker)
    assert grocer.holds(grocer_relationship.our_did) == {}
    held = baker.holds(baker_relationship.our_did)
    assert {path: value for path, value in held.items() if value} == {BRANDS: "Fairphone"}


async def test_preferences_that_cannot_be_shared_change_nothing(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """A vendor the person ended or never had, or a value too long: an error, no change."""
    _, ended = await connect(person, network, "Corner Grocer", clock=clock)
    person.end("Corner Grocer")
    desk = LoyaltyDesk(person)
    assert desk.preferences().vendors == []
    for vendors in ([ended.id], [404]):
        with pytest.raises(Conflict):
            desk.share_preferences({BRANDS: "Fairphone"}, vendors, changed_by="web")
    with pytest.raises(InvalidField):
        desk.share_preferences({BRANDS: "x" * 501}, [], changed_by="web")
    assert desk.preferences().values == {LOYALTY: None, BRANDS: None}
