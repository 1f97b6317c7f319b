"""The Profile pages in-process: values and grants, edits and history, refusals, deliveries."""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
import pytest

from tests.agent.vendors import Clock, VendorNetwork, connect, deliver, refusal
from tests.agent.web.test_pages import build_client, csrf_of, submit
from vrm.agent.outbox.worker import DeliveryWorker
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.setup import UnlockedAgent
from vrm.agent.web import SignInLimits

pytestmark = pytest.mark.anyio
HOME = {"streetAddress": "1 Elm Row", "addressLocality": "Leith", "postalCode": "EH6 1AA"}


def field_card(page: str, path: str) -> str:
    slug = path.replace(".", "-")
    found = re.search(rf'<li class="card profile-field" id="field-{slug}">.*?</li>', page, re.S)
    assert found, f"no field {path} on the page"
    return found.group(0)


def live_region(page: str) -> str:
    found = re.search(r'<div id="deliveries".*?</ul>', page, re.S)
    assert found, "no live region on the page"
    return found.group(0)


async def save(client: httpx.AsyncClient, path: str, **fields: str) -> httpx.Response:
    """Submit a form of the Profile page to ``/profile/{path}``."""
    return await submit(client, "/profile", f"/profile/{path}", **fields)


async def test_the_profile_needs_a_session(
    agent: UnlockedAgent, person: PersonalAgent, tmp_path: Path
) -> None:
    """Without signing in, the Profile and its vCard lead to the sign-in page."""
    async with build_client(agent, person, tmp_path, SignInLimits(failure_delay=0)) as client:
        for url in ("/profile", "/profile/email.home/history"):
            reply = await client.get(url)
            assert reply.status_code == 303
            assert reply.headers["location"] == "/sign-in"
        reply = await client.post("/profile.vcf", data={"csrf_token": "x"})
        assert reply.status_code == 303
        assert reply.headers["location"] == "/sign-in"


async def test_the_profile_shows_values_by_group_and_who_holds_them(
    signed_in: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Values by group, an address as lines, the vendors granted each field, and empty fields."""
    person.set_field("email.home", "ann@example.org", changed_by="test")
    person.set_field("address.home", {**HOME, "addressCountry": "GB"}, changed_by="test")
    person.set_field("preference.seat", "aisle", changed_by="test")
    await connect(person, network, "Corner Grocer", clock=clock)
    await connect(person, network, "Leith Bank", clock=clock, state=None)
    person.grant("Corner Grocer", ["address.home"], purpose="deliveries")
    person.grant("Leith Bank", ["address.home"], purpose="statements")

    page = await signed_in.get("/profile")
    assert page.status_code == 200
    for title in ("Name", "E-mail", "Phone", "Address", "About you", "Preferences"):
        assert f">{title}</h2>" in page.text
    home = field_card(page.text, "address.home")
    assert "1 Elm Row<br>Leith EH6 1AA<br>GB" in home
    assert "<strong>Corner Grocer</strong>" in home
    assert "<strong>Leith Bank</strong>" in home
    assert "on hold: the vendor has not accepted" in home
    assert 'value="EH6 1AA"' in home  # the edit form holds the current value
    assert 'href="/profile/address.home/history"' in home
    assert "ann@example.org" in field_card(page.text, "email.home")
    assert "Not granted to any vendor." in field_card(page.text, "email.home")
    assert "aisle" in field_card(page.text, "preference.seat")
    assert "Not set" in field_card(page.text, "phone.mobile")
    assert 'href="/static/profile.css"' in page.text


async def test_an_edit_is_saved_and_kept_in_the_history(
    signed_in: httpx.AsyncClient, person: PersonalAgent, clock: Clock
) -> None:
    """The new value is saved by "web"; the history lists both versions, newest first."""
    person.set_field("email.home", "ann@example.org", changed_by="cli")
    clock.advance(60)
    reply = await save(signed_in, "email.home", value="  ann@leith.example ")
    assert reply.status_code == 303
    assert reply.headers["location"] == "/profile/email.home/changes/2"
    assert person.profile()["email.home"] == "ann@leith.example"
    assert person.field_history("email.home")[-1].changed_by == "web"

    history = await signed_in.get("/profile/email.home/history")
    assert history.status_code == 200
    text = history.text
    assert text.index("ann@leith.example") < text.index("ann@example.org")
    assert "Changed by you, on these pages." in text
    assert "Changed by the vrm command." in text
    assert 'href="/profile/email.home/changes/1"' in text


async def test_an_address_is_saved_from_its_labelled_inputs(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """Each part has its own labelled input; empty parts are left out, the country upper-cased."""
    page = await signed_in.get("/profile")
    card = field_card(page.text, "address.work")
    for label in ("Street", "Town or city", "Region or county", "Postal code", "Country code"):
        assert f">{label}" in card
    assert '<label for="address-work-postalCode">' in card
    reply = await save(
        signed_in,
        "address.work",
        streetAddress="9 Quay St",
        addressLocality="Leith",
        addressRegion="",
        postalCode="EH6 6NE",
        addressCountry="gb",
    )
    assert reply.status_code == 303
    assert person.profile()["address.work"] == {
        "streetAddress": "9 Quay St",
        "addressLocality": "Leith",
        "postalCode": "EH6 6NE",
        "addressCountry": "GB",
    }


async def test_an_invalid_value_is_refused_with_its_message_and_kept_in_the_form(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """422, the message beside the field, the typed value in the input; nothing is changed."""
    person.set_field("email.home", "ann@example.org", changed_by="test")
    reply = await save(signed_in, "email.home", value="ann at example")
    assert reply.status_code == 422
    card = field_card(reply.text, "email.home")
    assert "That is not an e-mail address" in card
    assert 'value="ann at example"' in card
    assert 'aria-invalid="true"' in card
    assert '<details class="field-edit" open>' in card
    assert 'role="alert"' in reply.text
    assert person.profile()["email.home"] == "ann@example.org"
    assert len(person.field_history("email.home")) == 1


async def test_an_address_part_that_does_not_fit_is_marked_and_nothing_is_lost(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """A country that is not a two-letter code: marked at its input, every part kept."""
    person.set_field("address.home", HOME, changed_by="test")
    reply = await save(
        signed_in,
        "address.home",
        streetAddress="9 Quay St",
        addressLocality="Leith",
        postalCode="EH6 6NE",
        addressCountry="Scotland",
    )
    assert reply.status_code == 422
    card = field_card(reply.text, "address.home")
    assert "Use a two-letter country code" in card
    assert 'id="address-home-addressCountry-error"' in card
    for typed in ("9 Quay St", "Leith", "EH6 6NE", "Scotland"):
        assert f'value="{typed}"' in card
    assert person.profile()["address.home"] == HOME


async def test_an_empty_address_is_refused(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """Saving an address with every part empty says how to remove it instead."""
    reply = await save(signed_in, "address.home", streetAddress=" ", addressLocality="")
    assert reply.status_code == 422
    assert "or use Clear to remove it" in reply.text
    assert "address.home" not in person.profile()


async def test_a_form_without_the_csrf_token_changes_nothing(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """Missing or wrong CSRF token: 403, a page saying so, and the profile as it was."""
    person.set_field("email.home", "ann@example.org", changed_by="test")
    for token in ({}, {"csrf_token": "not the session's"}):
        for url, form in (
            ("/profile/email.home", {"value": "eve@example.org"}),
            ("/profile/email.home/clear", {}),
            ("/profile/import", {"vcard": "BEGIN:VCARD\nVERSION:4.0\nFN:Eve\nEND:VCARD\n"}),
        ):
            reply = await signed_in.post(url, data={**token, **form})
            assert reply.status_code == 403
            assert "Nothing was changed." in reply.text
    assert person.profile() == {"email.home": "ann@example.org"}
    assert len(person.field_history("email.home")) == 1


async def test_clearing_a_field_keeps_its_history(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """Clear removes the value; the history shows it cleared, after the old value."""
    person.set_field("phone.mobile", "+44 7700 900123", changed_by="test")
    page = await signed_in.get("/profile")
    reply = await signed_in.post("/profile/phone.mobile/clear", data={"csrf_token": csrf_of(page)})
    assert reply.status_code == 303
    assert "phone.mobile" not in person.profile()
    change = await signed_in.get(reply.headers["location"])
    assert "Mobile phone cleared" in change.text
    history = (await signed_in.get("/profile/phone.mobile/history")).text
    assert history.index("Cleared") < history.index("+44 7700 900123")


async def test_the_deliveries_of_a_change_are_listed_with_their_states(
    signed_in: httpx.AsyncClient,
    person: PersonalAgent,
    network: VendorNetwork,
    worker: DeliveryWorker,
    clock: Clock,
) -> None:
    """Each vendor granted the field, pending, then delivered or failed; vendors on hold too."""
    person.set_field("address.home", HOME, changed_by="test")
    await connect(person, network, "Corner Grocer", clock=clock)
    bank, _ = await connect(person, network, "Leith Bank", clock=clock)
    await connect(person, network, "Old Magazine", clock=clock, state=None)
    for vendor in ("Corner Grocer", "Leith Bank", "Old Magazine"):
        person.grant(vendor, ["address.home"], purpose="deliveries")
    await deliver(worker)
    clock.advance(60)

    reply = await save(
        signed_in, "address.home", streetAddress="9 Quay St", addressLocality="Leith"
    )
    assert reply.status_code == 303
    change_url = reply.headers["location"]
    page = await signed_in.get(change_url)
    assert page.status_code == 200
    region = live_region(page.text)
    assert f'data-live-src="{change_url}/deliveries"' in region
    assert 'aria-live="polite"' in region
    assert '<script src="/static/live.js" defer></script>' in page.text
    assert "9 Quay St<br>Leith" in page.text

    fragment = await signed_in.get(f"{change_url}/deliveries")
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert "data-live-done" not in fragment.text
    rows = re.findall(r'<li class="delivery state-(\w+)".*?</li>', fragment.text, re.S)
    assert rows == ["pending", "pending", "held"]
    assert "Corner Grocer" in fragment.text
    assert "Leith Bank" in fragment.text
    assert "Old Magazine" in fragment.text
    assert "the vendor has not accepted" in fragment.text
    assert f'href="{change_url}"' in fragment.text  # look again, without scripts

    network.script(bank, refusal(400, "bad_signature"))
    await deliver(worker)
    fragment = await signed_in.get(f"{change_url}/deliveries")
    assert "data-live-done" in fragment.text
    text = html.unescape(fragment.text)
    grocer = re.search(r"Corner Grocer.*?</li>", text, re.S)
    bank_row = re.search(r"Leith Bank.*?</li>", text, re.S)
    assert grocer
    assert "delivered" in grocer.group(0)
    assert bank_row
    assert "failed" in bank_row.group(0)
    assert "bad_signature" in bank_row.group(0)
    assert "delivered to 1 of 2 vendors" in text
    held = network.vendors["corner-grocer.example"]
    relationship = person.vendor("Corner Grocer")
    assert held.holds(relationship.our_did)["address.home"]["streetAddress"] == "9 Quay St"


async def test_a_change_no_vendor_is_granted_is_settled_at_once(
    signed_in: httpx.AsyncClient,
) -> None:
    """No grant: the change page says it stays with the person, and nothing is followed."""
    reply = await save(signed_in, "name.given", value="Ann")
    page = await signed_in.get(reply.headers["location"])
    assert "Given name changed" in page.text
    assert "The change stays with you." in page.text
    assert "data-live-done" in page.text


async def test_unknown_fields_and_changes_are_a_page_not_a_trace(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """A path that names no field, or a version that does not exist: 404 in words."""
    person.set_field("email.home", "ann@example.org", changed_by="test")
    for url in (
        "/profile/shoe.size/history",
        "/profile/email.home/changes/7",
        "/profile/email.home/changes/seven",
        "/profile/email.home/changes/7/deliveries",
    ):
        reply = await signed_in.get(url)
        assert reply.status_code == 404, url
        assert reply.headers["content-type"].startswith("text/html")
        assert "Back to your profile" in reply.text
    page = await signed_in.get("/profile")
    reply = await signed_in.post("/profile/shoe.size", data={"csrf_token": csrf_of(page)})
    assert reply.status_code == 404


async def test_a_field_of_ones_own_can_be_added(signed_in: httpx.AsyncClient) -> None:
    """Kind and label give a new field with its form open; a bad label is explained."""
    page = await signed_in.get("/profile", params={"kind": "email", "label": "Gym"})
    assert page.status_code == 200
    card = field_card(page.text, "email.gym")
    assert '<details class="field-edit" open>' in card
    assert "autofocus" in card
    bad = await signed_in.get("/profile", params={"kind": "email", "label": "9 lives!"})
    assert bad.status_code == 422
    assert "A label is up to 32 lower-case letters" in bad.text
    assert 'value="9 lives!"' in bad.text


async def test_the_profile_downloads_as_a_vcard_and_the_export_is_audited(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """POST /profile.vcf from the page (no API token): a vCard 4 attachment, logged.

    Without the form's CSRF token (a link from another page) nothing is exported.
    """
    person.set_field("email.home", "ann@example.org", changed_by="test")
    assert (await signed_in.get("/profile.vcf")).status_code == 405
    assert (await signed_in.post("/profile.vcf", data={})).status_code == 403
    assert not [e for e in person.audit_entries() if e.kind == "profile.export"]
    page = await signed_in.get("/profile")
    reply = await signed_in.post("/profile.vcf", data={"csrf_token": csrf_of(page)})
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/vcard")
    assert "attachment" in reply.headers["content-disposition"]
    assert reply.headers["content-security-policy"].startswith("default-src 'self'")
    assert "EMAIL" in reply.text
    assert "ann@example.org" in reply.text
    exports = [e for e in person.audit_entries() if e.kind == "profile.export"]
    assert exports[-1].details["to"] == "web"


async def test_a_pasted_vcard_is_imported(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """Its fields are set, each linked to where it went; what was left out is listed."""
    card = (
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ann Smith\r\nN:Smith;Ann;;;\r\n"
        "EMAIL;TYPE=work:ann@work.example\r\n"
        "ADR;TYPE=home:;;1 Elm Row;Leith;;EH6 1AA;Scotland\r\nEND:VCARD\r\n"
    )
    page = await signed_in.get("/profile")
    reply = await signed_in.post(
        "/profile/import", data={"csrf_token": csrf_of(page), "vcard": card}
    )
    assert reply.status_code == 200
    assert "vCard imported" in reply.text
    assert 'href="/profile/email.work/changes/1"' in reply.text
    assert "is not an ISO 3166 code" in html.unescape(reply.text)
    assert person.profile()["email.work"] == "ann@work.example"
    assert person.field_history("email.work")[-1].changed_by == "web vcard import"


async def test_text_that_is_not_a_vcard_is_refused_and_kept(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """422 with the reason; the pasted text stays in the box; nothing is set."""
    page = await signed_in.get("/profile")
    reply = await signed_in.post(
        "/profile/import", data={"csrf_token": csrf_of(page), "vcard": "my address is 1 Elm Row"}
    )
    assert reply.status_code == 422
    assert "Nothing was imported" in reply.text
    assert ">my address is 1 Elm Row</textarea>" in reply.text
    assert person.profile() == {}


async def test_a_session_over_stops_the_fragment_with_a_redirect(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """After sign-out the fragment answers with the sign-in redirect, which live.js stops on."""
    written = person.set_field("email.home", "ann@example.org", changed_by="test")
    url = f"/profile/email.home/changes/{written.version}/deliveries"
    assert (await signed_in.get(url)).status_code == 200
    page = await signed_in.get("/profile")
    await signed_in.post("/sign-out", data={"csrf_token": csrf_of(page)})
    reply = await signed_in.get(url)
    assert reply.status_code == 303
