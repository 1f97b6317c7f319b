"""The console's Memberships page: issue, list, revoke, and check a code as a till does."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.vendor.people import VENDOR
from tests.vendor.web.test_console_pages import Console, open_console
from vrm.protocol import Identity, present_membership

pytestmark = pytest.mark.anyio
PAGE = "/console/memberships"


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    """The console of an endpoint that accepts every request, signed in."""
    async for opened in open_console(tmp_path):
        await opened.sign_in()
        yield opened


async def test_issue_check_and_revoke_from_the_page(console: Console) -> None:
    """Issued from the form; the member's code checks valid once; revoked, it is refused."""
    person = Identity.generate()
    await console.relates(person)
    page = await console.browser.get(PAGE)
    assert page.status_code == 200
    assert 'aria-current="page">Memberships' in page.text
    issued = await console.post(
        f"{PAGE}/issue",
        page,
        customer=person.did,
        tier="gold",
        benefits="10% off service\r\nFree loan car\r\n",
        valid_until="2099-12-31",
    )
    assert (issued.status_code, issued.headers["location"]) == (303, f"{PAGE}?done=issued")
    listed = await console.browser.get(issued.headers["location"])
    assert "Issued: the credential is on its way" in listed.text
    assert "Leith Motors membership" in listed.text
    assert "2099-12-31" in listed.text
    [membership] = console.vendor.memberships.of_customer(person.did)
    assert membership["benefits"] == ["10% off service", "Free loan car"]

    code = present_membership(
        membership["credential"], person, audience=VENDOR.did, now=time.time()
    ).text
    valid = await console.post(f"{PAGE}/check", listed, code=code + "\n")
    assert valid.status_code == 200
    assert "Valid: gold" in valid.text
    assert "10% off service; Free loan car" in valid.text
    again = await console.post(f"{PAGE}/check", listed, code=code)
    assert again.status_code == 422
    assert "Refused: This code was shown before" in again.text

    revoked = await console.post(f"{PAGE}/{membership['id']}/revoke", listed)
    assert (revoked.status_code, revoked.headers["location"]) == (303, f"{PAGE}?done=revoked")
    fresh = present_membership(
        membership["credential"], person, audience=VENDOR.did, now=time.time()
    ).text
    refused = await console.post(f"{PAGE}/check", listed, code=fresh)
    assert "Refused: The membership was revoked." in refused.text
    assert "state-revoked" in refused.text


async def test_a_form_the_endpoint_refuses_comes_back_with_what_was_typed(
    console: Console,
) -> None:
    """No tier, an end in the past: the form again with the reason; a junk code: refused."""
    person = Identity.generate()
    await console.relates(person)
    page = await console.browser.get(PAGE)
    for fields, said in (
        ({"tier": ""}, "Tier: String should have at least 1 character"),
        ({"tier": "gold", "valid_until": "2001-01-01"}, "validUntil must be after validFrom"),
        ({"tier": "gold", "member_since": "yesterday"}, "Member since: Input should be a valid"),
    ):
        reply = await console.post(f"{PAGE}/issue", page, customer=person.did, **fields)
        assert reply.status_code == 422, fields
        assert "Nothing was issued" in reply.text
        assert said in reply.text
        assert f'value="{fields["tier"]}"' in reply.text  # what was typed is kept
    assert console.vendor.memberships.of_customer(person.did) == []
    junk = await console.post(f"{PAGE}/check", page, code="4006381333931")
    assert junk.status_code == 422
    assert "This is not a membership code." in junk.text
    stranger = await console.post(f"{PAGE}/issue", page, customer="did:key:z6Mkx", tier="gold")
    assert stranger.status_code == 404


async def test_the_page_needs_a_session_and_its_forms_the_token(tmp_path: Path) -> None:
    """Signed out: to sign-in; a form without its CSRF token: 403, nothing issued."""
    async for console in open_console(tmp_path):
        assert (await console.browser.get(PAGE)).status_code == 303
        await console.sign_in()
        person = Identity.generate()
        await console.relates(person)
        forged = await console.browser.post(
            f"{PAGE}/issue", data={"customer": person.did, "tier": "gold"}
        )
        assert forged.status_code == 403
        assert console.vendor.memberships.of_customer(person.did) == []
