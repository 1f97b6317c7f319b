"""The Loyalty pages in-process: membership cards, the checkout code and its image, preferences."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.agent.loyalty.cards import credential, give, revoke
from tests.agent.vendors import Clock, VendorNetwork, connect
from tests.agent.web.test_pages import csrf_of
from vrm.agent.loyalty.preferences import BRANDS, LOYALTY
from vrm.agent.personal_agent import PersonalAgent
from vrm.protocol import CredentialStanding, MemorySeenIds, verify_membership

pytestmark = pytest.mark.anyio


async def test_each_membership_is_a_card_in_words(
    signed_in: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Vendor, tier, program, number, benefits, since, through; a revoked one says so."""
    grocer, relationship = await connect(person, network, "Corner Grocer", clock=clock)
    gold = credential(grocer, relationship, clock=clock)
    wine = credential(grocer, relationship, clock=clock, tier="cellar")
    give(person, grocer, relationship, gold, clock=clock)
    give(person, grocer, relationship, wine, clock=clock)
    revoke(person, grocer, relationship, wine.credential.id, clock=clock, reason="club closed")
    page = await signed_in.get("/loyalty")
    assert page.status_code == 200
    text = page.text
    assert "Corner Grocer: gold" in text
    assert "Corner Grocer Club, member number M-0042" in text
    assert "10% off fresh bread" in text
    assert "2024-03-01" in text
    assert "Show at checkout" in text
    assert "ended this membership" in text
    assert ": club closed" in text
    assert text.count('href="/loyalty/') == 1  # only the active one can be shown
    assert 'aria-current="page"' in text
    assert "Content-Security-Policy" in page.headers


async def test_the_checkout_page_shows_a_code_the_vendor_accepts_and_its_image(
    signed_in: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """The text beneath the QR verifies at the vendor; the image is SVG; a fresh code follows."""
    grocer, relationship = await connect(person, network, "Corner Grocer", clock=clock)
    give(person, grocer, relationship, credential(grocer, relationship, clock=clock), clock=clock)
    [record] = person.audit_entries()[-1:]  # the membership's arrival
    number = record.details["membership"]
    page = await signed_in.get(f"/loyalty/{number}/checkout")
    assert page.status_code == 200
    assert 'data-live-src="/loyalty/' in page.text
    code = re.search(r'id="code-text">([^<]+)<', page.text)
    assert code is not None
    checked = verify_membership(
        code.group(1),
        verifier=grocer.did,
        now=clock(),
        standing=lambda _id, _digest: CredentialStanding.GOOD,
        seen=MemorySeenIds(clock),
    )
    assert checked.holder == relationship.our_did
    image = re.search(r'src="(/loyalty/codes/[^"]+\.svg)"', page.text)
    assert image is not None
    svg = await signed_in.get(image.group(1))
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.content.startswith(b"<svg")
    assert b"style" not in svg.content
    assert code.group(1) not in image.group(1)  # the code is never in a URL

    live = re.search(r'data-live-src="([^"]+)"', page.text)
    assert live is not None
    fresh = await signed_in.get(live.group(1).replace("&amp;", "&"))
    assert fresh.status_code == 200
    assert code.group(1) not in fresh.text
    assert "<html" not in fresh.text  # a fragment for live.js
    shown = [e for e in person.audit_entries() if e.kind == "membership.presented"]
    assert len(shown) == 2
    assert (await signed_in.get("/loyalty/codes/AAAAAAAAAAAAAAAAAAAAAA.svg")).status_code == 404


async def test_a_membership_that_cannot_be_shown_is_a_page_with_the_reason(
    signed_in: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Revoked: 409 and why; no such membership: 404; nothing logged as shown."""
    grocer, relationship = await connect(person, network, "Corner Grocer", clock=clock)
    gold = credential(grocer, relationship, clock=clock)
    give(person, grocer, relationship, gold, clock=clock)
    revoke(person, grocer, relationship, gold.credential.id, clock=clock)
    number = person.audit_entries()[-1].details["membership"]
    refused = await signed_in.get(f"/loyalty/{number}/checkout")
    assert refused.status_code == 409
    assert "is revoked" in refused.text
    assert (await signed_in.get("/loyalty/99/checkout")).status_code == 404
    assert (await signed_in.get("/loyalty/x/checkout")).status_code == 404
    assert [e for e in person.audit_entries() if e.kind == "membership.presented"] == []


async def test_preferences_are_saved_and_shared_with_the_vendors_ticked(
    signed_in: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Ticked: granted; not ticked: not; a value too long: the form again, nothing changed."""
    _, grocer = await connect(person, network, "Corner Grocer", clock=clock)
    _, baker = await connect(person, network, "Baker", clock=clock)
    page = await signed_in.get("/loyalty")
    assert 'for="vendor-' in page.text
    form = {
        "csrf_token": csrf_of(page),
        "loyalty": "Money off at the till",
        "brands": "Fairphone",
        f"vendor-{baker.id}": "on",
    }
    saved = await signed_in.post("/loyalty/preferences", data=form)
    assert saved.status_code == 303
    assert saved.headers["location"] == "/loyalty?done=shared#preferences"
    assert person.profile()[BRANDS] == "Fairphone"
    assert {g.path for _, g in person.grants(str(baker.id))} == {BRANDS, LOYALTY}
    assert person.grants(str(grocer.id)) == []
    after = await signed_in.get(saved.headers["location"])
    assert "Only the vendors ticked see your preferences" in after.text
    assert f'name="vendor-{baker.id}" value="on" checked' in after.text

    too_long = {**form, "brands": "x" * 501}
    refused = await signed_in.post("/loyalty/preferences", data=too_long)
    assert refused.status_code == 422
    assert "Nothing was changed" in refused.text
    assert "x" * 501 in refused.text  # what was typed is kept
    assert person.profile()[BRANDS] == "Fairphone"
    without_token = await signed_in.post("/loyalty/preferences", data={"brands": "Nokia"})
    assert without_token.status_code == 403
    assert person.profile()[BRANDS] == "Fairphone"


async def test_a_checkout_page_left_open_or_revoked_meanwhile_stops_making_codes(
    signed_in: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """After ten minutes, or once the vendor revoked it, the fragment says so and is final."""
    grocer, relationship = await connect(person, network, "Corner Grocer", clock=clock)
    gold = credential(grocer, relationship, clock=clock)
    give(person, grocer, relationship, gold, clock=clock)
    number = person.audit_entries()[-1].details["membership"]
    opened = int(clock())
    clock.advance(601)
    left_open = await signed_in.get(f"/loyalty/{number}/code", params={"since": opened})
    assert left_open.status_code == 200
    assert "data-live-done" in left_open.text
    assert "stopped making codes after ten minutes" in left_open.text
    revoke(person, grocer, relationship, gold.credential.id, clock=clock)
    revoked = await signed_in.get(f"/loyalty/{number}/code", params={"since": int(clock())})
    assert "data-live-done" in revoked.text
    assert "is revoked" in revoked.text
    assert [e for e in person.audit_entries() if e.kind == "membership.presented"] == []
