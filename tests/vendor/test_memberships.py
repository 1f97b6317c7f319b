"""Memberships from the vendor: issued, issued again, revoked, erased, verified at a checkout.

The store-level tests run on SQLite and on PostgreSQL; each credential is read back
as the person's agent reads it: decrypted with the pairwise DID's key and verified.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from tests.vendor.people import VENDOR, message, queued, request
from tests.vendor.test_migrations import upgrade_to
from vrm.protocol import (
    MEMBERSHIP,
    MEMBERSHIP_REVOKE,
    RELATIONSHIP_STATE,
    Identity,
    Membership,
    MembershipRefusal,
    MembershipRefused,
    MembershipRevoke,
    Message,
    Verifier,
    decrypt,
    membership_types,
    present_membership,
    relationship_types,
)
from vrm.storage import migrate_to_newest
from vrm.vendor.checkout import Checkout, SeenProofs, verdict
from vrm.vendor.endpoint import MIGRATIONS
from vrm.vendor.errors import Conflict, Erased, InvalidRequest, NotAccepted, UnknownCustomer
from vrm.vendor.jobs import MESSAGE_QUEUE
from vrm.vendor.memberships import MembershipDesk, MembershipRequest, UnknownMembership
from vrm.vendor.outgoing import Outgoing
from vrm.vendor.records import Policy, PolicyMode, Records
from vrm.vendor.schema import memberships, revoked_memberships

GOLD = MembershipRequest(tier="gold", benefits=["10% off fresh bread", "free delivery"])


class Shop:
    """A vendor's records, memberships and checkout on one store."""

    def __init__(self, engine: Engine, folder: Path, *, mode: str = "accept_all") -> None:
        self.engine = engine
        self.records = Records(
            engine, identity=VENDOR, policy=Policy(PolicyMode(mode)), adapters=[]
        )
        self.desk = MembershipDesk(
            engine,
            identity=VENDOR,
            outgoing=lambda: Outgoing(VENDOR, 3600.0, time.time),
            program="Corner Grocer membership",
        )
        folder.mkdir(exist_ok=True)
        self.checkout = Checkout(engine, vendor=VENDOR.did, seen=SeenProofs(folder / "seen.db"))

    def customer(self, *, accept: bool = True) -> Identity:
        person = Identity.generate()
        self.records.receive(request(person))
        if accept and self.records.policy.mode == PolicyMode.MANUAL:
            self.records.approve(person.did)
        return person


@pytest.fixture
def shop(engine: Engine, tmp_path: Path) -> Iterator[Shop]:
    opened = Shop(engine, tmp_path)
    yield opened
    opened.checkout.close()


def received(engine: Engine, person: Identity) -> list[Message]:
    """The memberships and revocations queued for ``person``, decrypted and verified."""
    types = relationship_types()
    types.update(membership_types())
    verifier = Verifier(receiver=person.did, types=types, seen_ids=None)
    found = []
    for queue, customer, payload in queued(engine):
        if queue != MESSAGE_QUEUE or customer != person.did or not payload.get("encrypted"):
            continue
        found.append(verifier.verify(decrypt(payload["token"], person)))
    return [m for m in found if m.type in (MEMBERSHIP, MEMBERSHIP_REVOKE)]


def test_a_membership_is_signed_to_the_customer_encrypted_queued_and_kept(shop: Shop) -> None:
    """The person reads a gold credential from the vendor, member since the relationship began."""
    person = shop.customer()
    issued = shop.desk.issue(person.did, GOLD)
    [sent] = received(shop.engine, person)
    assert isinstance(sent.body, Membership)
    credential = sent.body.signed().credential
    assert (credential.issuer, credential.credentialSubject.id) == (VENDOR.did, person.did)
    assert credential.credentialSubject.tier == "gold"
    assert credential.credentialSubject.programName == "Corner Grocer membership"
    assert credential.credentialSubject.memberSince == dt.datetime.now(dt.UTC).date().isoformat()
    assert credential.validUntil is None
    assert (issued["id"], issued["tier"], issued["state"]) == (credential.id, "gold", "active")
    assert issued["benefits"] == ["10% off fresh bread", "free delivery"]
    assert (issued["credential"], issued["delivery"]) == (sent.body.credential, "pending")
    assert shop.desk.of_customer(person.did) == [issued]


def test_issuing_again_keeps_the_id_number_and_start_and_replaces_the_credential(
    shop: Shop,
) -> None:
    """Silver after gold: one membership, the same id, number and start; gold is superseded."""
    person = shop.customer()
    first = MembershipRequest(
        tier="gold", member_since=dt.date(2020, 5, 1), membership_number="CG-7"
    )
    gold = shop.desk.issue(person.did, first)
    silver = shop.desk.issue(
        person.did, MembershipRequest(tier="silver", valid_until=dt.date(2099, 12, 31))
    )
    assert silver["id"] == gold["id"]
    assert silver["validFrom"] > gold["validFrom"]  # at once: still later, so it replaces
    assert (silver["memberSince"], silver["membershipNumber"]) == ("2020-05-01", "CG-7")
    assert silver["validUntil"] == "2100-01-01T00:00:00Z"  # the whole last day
    assert [m["tier"] for m in shop.desk.of_customer(person.did)] == ["silver"]
    assert len(received(shop.engine, person)) == 2
    old = present_membership(gold["credential"], person, audience=VENDOR.did, now=time.time())
    with pytest.raises(MembershipRefused) as caught:
        shop.checkout.verify(old.text)
    assert caught.value.reason == MembershipRefusal.SUPERSEDED
    new = present_membership(silver["credential"], person, audience=VENDOR.did, now=time.time())
    assert verdict(shop.checkout.verify(new.text))["member"]["tier"] == "silver"


def test_another_program_is_another_membership(shop: Shop) -> None:
    """A second program for the same customer gets a credential of its own."""
    person = shop.customer()
    shop.desk.issue(person.did, GOLD)
    wine = shop.desk.issue(person.did, MembershipRequest(tier="cellar", program="Wine Club"))
    assert [m["program"] for m in shop.desk.of_customer(person.did)] == [
        "Corner Grocer membership",
        "Wine Club",
    ]
    assert wine["id"] != shop.desk.of_customer(person.did)[0]["id"]


def test_a_membership_for_no_open_relationship_is_refused(
    shop: Shop, engine: Engine, tmp_path: Path
) -> None:
    """Unknown: 404; pending, ended by either side, erased: 409; nothing is issued."""
    with pytest.raises(UnknownCustomer):
        shop.desk.issue(Identity.generate().did, GOLD)
    waiting = Shop(engine, tmp_path / "manual", mode="manual")
    pending = waiting.customer(accept=False)
    waiting.checkout.close()
    ended_by_vendor = shop.customer()
    shop.records.end(ended_by_vendor.did)
    ended_by_person = shop.customer()
    shop.records.receive(message(ended_by_person, RELATIONSHIP_STATE, {"state": "ended"}))
    erased = shop.customer()
    shop.records.erase(erased.did)
    with pytest.raises(Erased):
        shop.desk.issue(erased.did, GOLD)
    for person in (pending, ended_by_vendor, ended_by_person):
        with pytest.raises(NotAccepted):
            shop.desk.issue(person.did, GOLD)
    with engine.begin() as connection:
        assert connection.execute(select(memberships)).all() == []


def test_a_value_the_credential_cannot_take_is_an_invalid_request(shop: Shop) -> None:
    """An end already past, or benefits too long for a QR code: 422, nothing issued."""
    person = shop.customer()
    for wrong in (
        MembershipRequest(tier="gold", valid_until=dt.date(2001, 1, 1)),
        MembershipRequest(tier="gold", benefits=["a generous benefit, described at length"] * 6),
    ):
        with pytest.raises(InvalidRequest):
            shop.desk.issue(person.did, wrong)
    assert shop.desk.of_customer(person.did) == []


def test_revoking_tells_the_person_and_checkouts_refuse_the_credential(shop: Shop) -> None:
    """The person gets membership.revoke with the reason; a code shown later is ``revoked``."""
    person = shop.customer()
    issued = shop.desk.issue(person.did, GOLD)
    revoked = shop.desk.revoke(issued["id"].removeprefix("urn:uuid:"), reason="closing the club")
    assert (revoked["state"], revoked["revoked_at"] is not None) == ("revoked", True)
    notice = received(shop.engine, person)[-1]
    assert notice.body == MembershipRevoke(credential=issued["id"], reason="closing the club")
    shown = present_membership(issued["credential"], person, audience=VENDOR.did, now=time.time())
    with pytest.raises(MembershipRefused) as caught:
        shop.checkout.verify(shown.text)
    assert caught.value.reason == MembershipRefusal.REVOKED
    with pytest.raises(Conflict, match="revoked already"):
        shop.desk.revoke(issued["id"])
    with pytest.raises(UnknownMembership):
        shop.desk.revoke("urn:uuid:00000000-0000-4000-8000-000000000000")


def test_erasure_deletes_the_memberships_and_checkouts_go_on_refusing_them(
    shop: Shop, engine: Engine
) -> None:
    """No membership is left of an erased customer; its id stays on the refused list, alone."""
    person = shop.customer()
    issued = shop.desk.issue(person.did, GOLD)
    shop.records.erase(person.did)
    with engine.begin() as connection:
        assert connection.execute(select(memberships)).all() == []
        [(listed, reason)] = connection.execute(
            select(revoked_memberships.c.id, revoked_memberships.c.reason)
        ).all()
    assert (listed, reason) == (issued["id"], "erased")
    shown = present_membership(issued["credential"], person, audience=VENDOR.did, now=time.time())
    with pytest.raises(MembershipRefused) as caught:
        shop.checkout.verify(shown.text)
    assert caught.value.reason == MembershipRefusal.REVOKED


def test_a_code_verifies_once_at_the_checkout(shop: Shop) -> None:
    """The member, tier and benefits on the first scan; the same code again is ``replayed``."""
    person = shop.customer()
    issued = shop.desk.issue(person.did, GOLD)
    shown = present_membership(issued["credential"], person, audience=VENDOR.did, now=time.time())
    member = verdict(shop.checkout.verify(shown.text))
    assert member == {
        "valid": True,
        "member": {
            "customer": person.did,
            "credential": issued["id"],
            "programName": "Corner Grocer membership",
            "tier": "gold",
            "benefits": ["10% off fresh bread", "free delivery"],
            "memberSince": issued["memberSince"],
            "membershipNumber": None,
            "validUntil": None,
            "last_day": None,
        },
    }
    with pytest.raises(MembershipRefused) as caught:
        shop.checkout.verify(shown.text)
    assert caught.value.reason == MembershipRefusal.REPLAYED


def test_two_checkouts_on_one_folder_share_the_proofs_seen(shop: Shop, tmp_path: Path) -> None:
    """A code scanned at one till is refused at another reading the same seen-proofs file."""
    person = shop.customer()
    issued = shop.desk.issue(person.did, GOLD)
    shown = present_membership(issued["credential"], person, audience=VENDOR.did, now=time.time())
    shop.checkout.verify(shown.text)
    other = Checkout(shop.engine, vendor=VENDOR.did, seen=SeenProofs(tmp_path / "seen.db"))
    try:
        with pytest.raises(MembershipRefused) as caught:
            other.verify(shown.text)
    finally:
        other.close()
    assert caught.value.reason == MembershipRefusal.REPLAYED


def test_a_seventh_version_store_gains_the_membership_tables(empty_engine: Engine) -> None:
    """Migration 0008 adds memberships beside the customers, who are kept."""
    upgrade_to(empty_engine, "0007")
    person = Identity.generate()
    Records(empty_engine, identity=VENDOR, policy=Policy(), adapters=[]).receive(request(person))
    migrate_to_newest(empty_engine, MIGRATIONS)
    desk = MembershipDesk(
        empty_engine,
        identity=VENDOR,
        outgoing=lambda: Outgoing(VENDOR, 3600.0, time.time),
        program="Club",
    )
    assert desk.of_customer(person.did) == []
    assert desk.issue(person.did, GOLD)["tier"] == "gold"
