"""Grants: which field each vendor may have, for what, until when; and what it is sent."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.agent.vendors import Clock, VendorNetwork, answer, connect, deliver
from vrm.agent.errors import Conflict, NotFound
from vrm.agent.outbox.worker import DeliveryWorker
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.profile.fields import InvalidField
from vrm.protocol import PROFILE_REVOKE, PROFILE_UPDATE, PartyState

pytestmark = pytest.mark.anyio

EMAIL = "ann@example.org"
PHONE = "+44 7700 900123"


async def test_grant_with_purpose_and_end_date(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """A grant keeps its purpose and date, and the accepted vendor gets the value under them."""
    person.set_field("email.primary", EMAIL, changed_by="cli")
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    until = clock.today() + dt.timedelta(days=30)
    [granted] = person.grant("Corner Shop", ["email.primary"], purpose="receipts", until=until)

    assert (granted.path, granted.purpose, granted.until) == (
        "email.primary",
        "receipts",
        str(until),
    )
    assert granted.active_on(clock.today())
    assert not granted.active_on(until + dt.timedelta(days=1))
    assert [(r.id, g.id) for r, g in person.grants()] == [(relationship.id, granted.id)]

    await deliver(worker)
    [update] = shop.received(PROFILE_UPDATE)
    assert update.sender == relationship.our_did
    assert update.body.grant.purpose == "receipts"
    assert update.body.grant.until == str(until)
    assert [(f.path, f.version, f.value) for f in update.body.fields] == [
        ("email.primary", 1, EMAIL)
    ]
    assert shop.holds(relationship.our_did) == {"email.primary": EMAIL}


async def test_granting_again_changes_the_purpose(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Granting a granted field again updates that grant, and the vendor hears the new purpose."""
    person.set_field("email.primary", EMAIL, changed_by="cli")
    shop, _ = await connect(person, network, "Corner Shop", clock=clock)
    [first] = person.grant("Corner Shop", ["email.primary"], purpose="receipts")
    [second] = person.grant("Corner Shop", ["email.primary"], purpose="newsletter")

    assert second.id == first.id
    assert [(g.path, g.purpose) for _, g in person.grants("Corner Shop")] == [
        ("email.primary", "newsletter")
    ]
    await deliver(worker)
    purposes = [m.body.grant.purpose for m in shop.received(PROFILE_UPDATE)]
    assert purposes == ["receipts", "newsletter"]


async def test_granting_after_a_revocation_sends_only_the_new_grant(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """A field granted, revoked and granted again is sent once, under the new purpose."""
    person.set_field("email.primary", EMAIL, changed_by="cli")
    shop, _ = await connect(person, network, "Corner Shop", clock=clock)
    person.grant("Corner Shop", ["email.primary"], purpose="receipts")
    person.revoke("Corner Shop", ["email.primary"])
    await deliver(worker)
    before = len(shop.received(PROFILE_UPDATE))

    regranted = person.grant("Corner Shop", ["email.primary"], purpose="newsletter")
    assert [(g.purpose, g.revoked_at) for g in regranted] == [("newsletter", None)]
    await deliver(worker)
    [update] = shop.received(PROFILE_UPDATE)[before:]
    assert update.body.grant.purpose == "newsletter"
    assert [f.path for f in update.body.fields] == ["email.primary"]


@pytest.mark.parametrize(
    ("purpose", "until_days", "message"),
    [
        ("", None, "purpose"),
        ("   ", None, "purpose"),
        ("x" * 1025, None, "longer than 1024"),
        ("receipts", -1, "in the past"),
    ],
)
async def test_grants_that_do_not_fit_are_refused(
    person: PersonalAgent,
    network: VendorNetwork,
    clock: Clock,
    purpose: str,
    until_days: int | None,
    message: str,
) -> None:
    """An empty or overlong purpose, or an end date already past, grants nothing."""
    await connect(person, network, "Corner Shop", clock=clock)
    until = None if until_days is None else clock.today() + dt.timedelta(days=until_days)
    with pytest.raises(Conflict, match=message):
        person.grant("Corner Shop", ["email.primary"], purpose=purpose, until=until)
    assert person.grants() == []


async def test_granting_today_is_allowed(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """A grant may end today (it is in force until the day is over)."""
    await connect(person, network, "Corner Shop", clock=clock)
    [granted] = person.grant("Corner Shop", ["language"], purpose="menus", until=clock.today())
    assert granted.active_on(clock.today())


async def test_no_grant_to_an_ended_relationship_nor_of_an_unknown_field(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Granting to an ended relationship is a conflict; a path that is no field is invalid."""
    await connect(person, network, "Corner Shop", clock=clock)
    with pytest.raises(InvalidField, match="not a profile field"):
        person.grant("Corner Shop", ["shoe.size"], purpose="fit")
    with pytest.raises(InvalidField):
        person.grant("Corner Shop", ["email.primary", "email"], purpose="receipts")
    assert person.grants() == []
    person.end("Corner Shop")
    with pytest.raises(Conflict, match="ended"):
        person.grant("Corner Shop", ["email.primary"], purpose="receipts")
    assert person.grants() == []


async def test_revoking_tells_an_accepted_vendor(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Revoking sends a signed profile.revoke; the vendor drops the field; the grant is kept."""
    person.set_fields({"email.primary": EMAIL, "phone.mobile": PHONE}, changed_by="cli")
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    person.grant("Corner Shop", ["email.primary", "phone.mobile"], purpose="delivery")
    await deliver(worker)
    assert shop.holds(relationship.our_did) == {"email.primary": EMAIL, "phone.mobile": PHONE}

    [revoked] = person.revoke("Corner Shop", ["phone.mobile"])
    assert revoked.path == "phone.mobile"
    await deliver(worker)
    [revocation] = shop.received(PROFILE_REVOKE)
    assert revocation.sender == relationship.our_did
    assert revocation.body.fields == ["phone.mobile"]
    assert shop.holds(relationship.our_did) == {"email.primary": EMAIL}
    shown = {g.path: g for _, g in person.grants()}
    assert shown["phone.mobile"].revoked_at == clock.now
    assert not shown["phone.mobile"].active_on(clock.today())
    assert shown["email.primary"].revoked_at is None
    assert shown["phone.mobile"].as_json(clock.today())["active"] is False


async def test_revoking_from_a_vendor_that_never_accepted_sends_nothing(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """A vendor that was never sent the field is not sent a revocation either."""
    person.set_field("email.primary", EMAIL, changed_by="cli")
    shop, _ = await connect(person, network, "Corner Shop", clock=clock, state=None)
    person.grant("Corner Shop", ["email.primary"], purpose="receipts")
    queued: list[str] = []
    person.on_queued = queued.extend
    person.revoke("Corner Shop", ["email.primary"])
    assert queued == []
    await deliver(worker)
    assert [m.type for m in shop.received()] == ["vrm/1/relationship.request"]


async def test_revoking_what_is_not_granted_is_not_found(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Revoking a field never granted, or already revoked, is not found and changes nothing."""
    await connect(person, network, "Corner Shop", clock=clock)
    person.grant("Corner Shop", ["email.primary"], purpose="receipts")
    with pytest.raises(NotFound, match=r"phone\.mobile"):
        person.revoke("Corner Shop", ["email.primary", "phone.mobile"])
    assert [g.revoked_at for _, g in person.grants()] == [None]
    person.revoke("Corner Shop", ["email.primary"])
    with pytest.raises(NotFound):
        person.revoke("Corner Shop", ["email.primary"])


async def test_held_grants_wait_for_the_vendor_to_accept(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Before the vendor accepts, grants and changes send nothing; acceptance sends them all."""
    person.set_field("email.primary", EMAIL, changed_by="cli")
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    person.grant("Corner Shop", ["email.primary", "phone.mobile"], purpose="delivery")
    person.set_field("phone.mobile", PHONE, changed_by="cli")
    person.set_field("email.primary", "ann@work.example", changed_by="cli")
    await deliver(worker)
    assert shop.received(PROFILE_UPDATE) == []

    answer(person, shop, relationship, PartyState.ACCEPTED, clock=clock)
    await deliver(worker)
    [update] = shop.received(PROFILE_UPDATE)
    assert {(f.path, f.version, f.value) for f in update.body.fields} == {
        ("email.primary", 2, "ann@work.example"),
        ("phone.mobile", 1, PHONE),
    }


async def test_refused_relationship_gets_nothing(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """A vendor that refused is sent no granted field, now or on change."""
    person.set_field("email.primary", EMAIL, changed_by="cli")
    shop, relationship = await connect(
        person, network, "Corner Shop", clock=clock, state=PartyState.REFUSED
    )
    assert (relationship.vendor_state, relationship.active) == ("refused", False)
    person.grant("Corner Shop", ["email.primary"], purpose="receipts")
    person.set_field("email.primary", "ann@work.example", changed_by="cli")
    await deliver(worker)
    assert shop.received(PROFILE_UPDATE) == []


async def test_paused_vendor_gets_nothing_until_resumed(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Changes while paused are not sent; resuming sends the current values, newest version."""
    person.set_field("email.primary", EMAIL, changed_by="cli")
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    person.grant("Corner Shop", ["email.primary"], purpose="receipts")
    person.pause("Corner Shop")
    await deliver(worker)
    updates = len(shop.received(PROFILE_UPDATE))

    person.set_field("email.primary", "ann@work.example", changed_by="cli")
    person.set_field("email.primary", "ann@home.example", changed_by="cli")
    await deliver(worker)
    assert len(shop.received(PROFILE_UPDATE)) == updates
    assert shop.holds(relationship.our_did) == {"email.primary": EMAIL}

    person.resume("Corner Shop")
    await deliver(worker)
    [resumed] = shop.received(PROFILE_UPDATE)[updates:]
    assert [(f.version, f.value) for f in resumed.body.fields] == [(3, "ann@home.example")]
    assert shop.holds(relationship.our_did) == {"email.primary": "ann@home.example"}


async def test_expired_grants_are_revoked_and_the_vendor_told(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Once its end date has passed, a grant is marked revoked and the vendor is told."""
    clock.advance(-2 * 24 * 3600)  # granted two days ago, to end that day
    person.set_fields({"email.primary": EMAIL, "language": "en"}, changed_by="cli")
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    person.grant("Corner Shop", ["email.primary"], purpose="one order", until=clock.today())
    person.grant("Corner Shop", ["language"], purpose="menus")
    assert person.expire_grants() == []
    await deliver(worker)
    assert shop.holds(relationship.our_did) == {"email.primary": EMAIL, "language": "en"}

    clock.advance(2 * 24 * 3600)
    [lapsed] = person.expire_grants()
    assert lapsed.path == "email.primary"
    assert person.expire_grants() == []
    await deliver(worker)
    [revocation] = shop.received(PROFILE_REVOKE)
    assert revocation.body.fields == ["email.primary"]
    assert revocation.body.reason == "grant expired"
    assert shop.holds(relationship.our_did) == {"language": "en"}
    shown = {g.path: g.revoked_at for _, g in person.grants("Corner Shop")}
    assert shown == {"email.primary": clock.now, "language": None}

    person.set_field("email.primary", "ann@work.example", changed_by="cli")
    await deliver(worker)
    assert shop.holds(relationship.our_did) == {"language": "en"}


async def test_ending_revokes_every_grant(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Ending the relationship revokes its grants; later changes are not sent."""
    person.set_field("email.primary", EMAIL, changed_by="cli")
    shop, _ = await connect(person, network, "Corner Shop", clock=clock)
    person.grant("Corner Shop", ["email.primary", "language"], purpose="receipts")
    person.end("Corner Shop")
    assert all(g.revoked_at == clock.now for _, g in person.grants())
    person.set_field("email.primary", "ann@work.example", changed_by="cli")
    await deliver(worker)
    assert [f.version for m in shop.received(PROFILE_UPDATE) for f in m.body.fields] == [1]
