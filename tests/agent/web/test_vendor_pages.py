"""The Vendors pages in-process: both r-buttons, actions by form, refusals that change nothing."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.agent.test_agreements import terms, vendor_accepts_relationship
from tests.agent.test_data_rights import exported, signed
from tests.agent.vendors import (
    Clock,
    VendorNetwork,
    connect,
    deliver,
    offer_alternative,
    refusal,
)
from tests.agent.web.test_pages import build_client, csrf_of
from tests.processes import free_port
from vrm.agent.outbox.worker import DeliveryWorker
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.setup import UnlockedAgent
from vrm.agent.web import SignInLimits
from vrm.protocol import DATA_REQUEST, PROFILE_REVOKE, PROFILE_UPDATE, PartyState

pytestmark = pytest.mark.anyio
EMAIL = "ann@example.org"


async def post(client: httpx.AsyncClient, page: str, action: str, **fields: str) -> httpx.Response:
    """Submit a form of ``page`` to ``action``, with the page's CSRF token."""
    token = csrf_of(await client.get(page))
    return await client.post(action, data={"csrf_token": token, **fields})


def card(page: str, vendor_id: int) -> str:
    """The list's card of one vendor."""
    found = re.search(rf'id="vendor-{vendor_id}".*?</li>', page, re.S)
    assert found, f"no card for vendor {vendor_id}"
    return found.group(0)


def side(html: str, which: str) -> str:
    """The words on one r-button (``person`` or ``vendor``), tags removed."""
    found = re.search(rf'class="rbutton {which} (\w+)">(.*?)</div>', html, re.S)
    assert found, f"no {which} r-button"
    return found.group(1) + ": " + " ".join(re.sub(r"<[^>]+>", " ", found.group(2)).split())


async def test_the_list_shows_both_sides_of_every_relationship(
    signed_in: httpx.AsyncClient,
    person: PersonalAgent,
    network: VendorNetwork,
    worker: DeliveryWorker,
    clock: Clock,
) -> None:
    """Each card: the person's side and the vendor's, in words and look; counts of messages."""
    _, grocer = await connect(person, network, "Corner Grocer", clock=clock)
    _, bank = await connect(person, network, "Leith Bank", clock=clock, state=None)
    await deliver(worker)
    page = await signed_in.get("/vendors")
    assert page.status_code == 200
    assert " style=" not in page.text
    assert "<script" not in page.text
    assert '<link rel="stylesheet" href="/static/vendors.css">' in page.text
    accepted = card(page.text, grocer.id)
    assert side(accepted, "person") == "on: ● You: want it"
    assert side(accepted, "vendor") == "on: ● Corner Grocer: accepted"
    assert "rbuttons joined" in accepted
    assert "1 delivered, 0 pending, <span>0 failed</span>" in accepted
    assert "Pause sending to Corner Grocer" in accepted
    assert "(agreed)" in accepted
    waiting = card(page.text, bank.id)
    assert side(waiting, "vendor") == "pending: … Leith Bank: pending: no answer yet"
    assert "Nothing is sent: the vendor has not accepted." in waiting
    assert "(proffered, waiting for the vendor&#39;s answer)" in waiting
    assert (await signed_in.get("/static/vendors.css")).status_code == 200


async def test_an_empty_list_says_so(signed_in: httpx.AsyncClient) -> None:
    """No vendors: the add form and a sentence in place of the list."""
    page = await signed_in.get("/vendors")
    assert "No vendors yet" in page.text
    assert 'id="vendor-url"' in page.text


async def test_pause_resume_and_end_press_the_persons_button(
    signed_in: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Pause and resume from the list; ending needs the box ticked, then the vendor is ended."""
    _, grocer = await connect(person, network, "Corner Grocer", clock=clock)
    number = grocer.id

    paused = await post(signed_in, "/vendors", f"/vendors/{number}/pause", back="list")
    assert paused.status_code == 303
    assert paused.headers["location"] == f"/vendors?done=paused&vendor={number}#vendor-{number}"
    assert person.vendor(str(number)).person_state == PartyState.PAUSED
    page = (await signed_in.get(paused.headers["location"])).text
    assert "Paused: Corner Grocer is told" in page
    assert side(card(page, number), "person") == "paused: ‖ You: paused"
    assert "Resume sending to Corner Grocer" in page

    resumed = await post(signed_in, "/vendors", f"/vendors/{number}/resume", back="list")
    assert resumed.status_code == 303
    assert person.vendor(str(number)).person_state == PartyState.WANTS

    again = await post(signed_in, "/vendors", f"/vendors/{number}/resume", back="list")
    assert again.status_code == 409  # it is not paused
    assert "cannot become wants" in again.text
    assert "Nothing was changed." in again.text

    confirm = await signed_in.get(f"/vendors/{number}/end")
    assert "End the relationship with Corner Grocer?" in confirm.text
    assert 'name="confirm" value="yes" required' in confirm.text
    unticked = await post(signed_in, f"/vendors/{number}/end", f"/vendors/{number}/end")
    assert unticked.status_code == 422
    assert "Tick the box" in unticked.text
    assert person.vendor(str(number)).person_state == PartyState.WANTS

    ended = await post(signed_in, f"/vendors/{number}/end", f"/vendors/{number}/end", confirm="yes")
    assert ended.status_code == 303
    assert person.vendor(str(number)).person_state == PartyState.ENDED
    page = (await signed_in.get(ended.headers["location"])).text
    assert "Ended: every grant to Corner Grocer is revoked" in page
    assert side(page, "person") == "off: ■ You: ended"
    assert "Pause sending to" not in page
    assert "End the relationship with" not in page


@pytest.mark.parametrize(
    ("typed", "status", "said"),
    [
        ("not a web address", 422, "That is not a web address"),
        ("ftp://shop.example", 422, "That is not a web address"),
        ("", 422, "Give the vendor&#39;s address"),
        ("http://127.0.0.1:{port}", 502, "No vendor answered at http://127.0.0.1:"),
    ],
)
async def test_adding_a_vendor_that_cannot_be_added_keeps_what_was_typed(
    signed_in: httpx.AsyncClient, person: PersonalAgent, typed: str, status: int, said: str
) -> None:
    """A bad or unreachable address: the list again with the reason and the typed URL."""
    typed = typed.format(port=free_port())
    reply = await post(signed_in, "/vendors", "/vendors", url=typed)
    assert reply.status_code == status
    assert said in reply.text
    assert f'value="{typed}"' in reply.text
    assert 'aria-invalid="true"' in reply.text
    assert person.vendors() == []
    if status == 502:  # loopback is not allowed by default: the page says where to allow it
        assert "Settings allow it" in reply.text


async def test_a_vendor_page_shows_who_it_is_and_both_states(
    signed_in: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Name, address, both DIDs, both r-buttons and the agreement in force."""
    vendor, grocer = await connect(person, network, "Corner Grocer", clock=clock)
    page = await signed_in.get(f"/vendors/{grocer.id}")
    assert page.status_code == 200
    assert "<h1>Corner Grocer</h1>" in page.text
    assert vendor.url in page.text
    assert vendor.did in page.text
    assert grocer.our_did in page.text
    assert side(page.text, "vendor") == "on: ● Corner Grocer: accepted"
    assert "Agreed: <strong>SD-BASE + mine-too + delete-on-end</strong>" in page.text
    assert " style=" not in page.text
    missing = await signed_in.get("/vendors/999")
    assert missing.status_code == 404
    assert "No such vendor" in missing.text
    assert (await signed_in.get("/vendors/not-a-number")).status_code == 404


async def test_grant_then_revoke_through_the_forms(
    signed_in: httpx.AsyncClient,
    person: PersonalAgent,
    network: VendorNetwork,
    worker: DeliveryWorker,
    clock: Clock,
) -> None:
    """The picker lists the profile's fields; granting sends the value, revoking takes it back."""
    person.set_field("email.home", EMAIL, changed_by="test")
    vendor, grocer = await connect(person, network, "Corner Grocer", clock=clock)
    page = f"/vendors/{grocer.id}"
    assert '<option value="email.home">email.home</option>' in (await signed_in.get(page)).text

    granted = await post(
        signed_in, page, f"{page}/grants", field="email.home", purpose="receipts", until=""
    )
    assert granted.status_code == 303
    [(_, grant)] = person.grants(str(grocer.id))
    assert (grant.path, grant.purpose, grant.until) == ("email.home", "receipts", None)
    await deliver(worker)
    assert vendor.holds(grocer.our_did) == {"email.home": EMAIL}
    shown = (await signed_in.get(granted.headers["location"])).text
    assert "Granted: Corner Grocer gets the current value" in shown
    row = re.search(r'id="grant-email.home".*?</tr>', shown, re.S)
    assert row is not None
    assert "receipts" in row.group(0)
    assert "active: sent to Corner Grocer" in row.group(0)
    assert 'Revoke<span class="vh"> email.home from Corner Grocer</span>' in row.group(0)

    revoked = await post(signed_in, page, f"{page}/grants/revoke", field="email.home")
    assert revoked.status_code == 303
    [(_, grant)] = person.grants(str(grocer.id))
    assert grant.revoked_at is not None
    await deliver(worker)
    assert vendor.received(PROFILE_REVOKE)
    assert vendor.holds(grocer.our_did) == {}
    shown = (await signed_in.get(revoked.headers["location"])).text
    assert "Revoked: Corner Grocer is sent a signed revocation." in shown
    assert "Earlier grants (1)" in shown
    assert "You have granted Corner Grocer nothing." in shown

    twice = await post(signed_in, page, f"{page}/grants/revoke", field="email.home")
    assert twice.status_code == 404
    assert "has no grant of email.home" in twice.text


async def test_a_grant_form_with_mistakes_comes_back_filled_in(
    signed_in: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """No purpose, a past date: 422 with a message per input, what was typed kept; no grant."""
    person.set_field("email.home", EMAIL, changed_by="test")
    _, grocer = await connect(person, network, "Corner Grocer", clock=clock)
    page = f"/vendors/{grocer.id}"
    reply = await post(
        signed_in, page, f"{page}/grants", field="email.home", purpose=" ", until="2001-01-01"
    )
    assert reply.status_code == 422
    assert "Say what the vendor may use it for." in reply.text
    assert "Give today&#39;s date or a later one." in reply.text
    assert 'value="2001-01-01"' in reply.text
    assert '<option value="email.home" selected>' in reply.text
    assert person.grants(str(grocer.id)) == []
    bad_field = await post(
        signed_in, page, f"{page}/grants", field="shoe size", purpose="fitting", until=""
    )
    assert bad_field.status_code == 422
    assert "is not a profile field" in bad_field.text
    assert person.grants(str(grocer.id)) == []


async def test_export_and_erasure_requests_are_recorded(
    signed_in: httpx.AsyncClient,
    person: PersonalAgent,
    network: VendorNetwork,
    worker: DeliveryWorker,
    clock: Clock,
) -> None:
    """Asking for a copy is one button; erasure is confirmed first and ends the relationship."""
    vendor, grocer = await connect(person, network, "Corner Grocer", clock=clock)
    page = f"/vendors/{grocer.id}"
    asked = await post(signed_in, page, f"{page}/export")
    assert asked.status_code == 303
    [request] = person.data_requests(str(grocer.id))
    assert (request.kind, request.state) == ("export", "requested")
    await deliver(worker)
    assert vendor.received(DATA_REQUEST)
    shown = (await signed_in.get(asked.headers["location"])).text
    assert "Asked Corner Grocer for a signed copy" in shown
    row = re.search(rf'id="request-{request.id}".*?</tr>', shown, re.S)
    assert row is not None
    assert "a copy of your data" in row.group(0)
    assert "waiting for the answer" in row.group(0)

    confirm = await signed_in.get(f"{page}/erase")
    assert "Ask Corner Grocer to erase your data?" in confirm.text
    unticked = await post(signed_in, f"{page}/erase", f"{page}/erase")
    assert unticked.status_code == 422
    assert len(person.data_requests(str(grocer.id))) == 1
    erased = await post(signed_in, f"{page}/erase", f"{page}/erase", confirm="yes")
    assert erased.status_code == 303
    kinds = [r.kind for r in person.data_requests(str(grocer.id))]
    assert kinds == ["export", "erase"]
    assert person.vendor(str(grocer.id)).person_state == PartyState.ENDED
    shown = (await signed_in.get(erased.headers["location"])).text
    assert "Asked Corner Grocer to erase its record of you." in shown
    assert "erasure" in shown


async def test_a_vendor_that_never_accepted_cannot_be_asked_for_data(
    signed_in: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """No buttons, and a request sent anyway is refused with the reason: 409, nothing asked."""
    _, bank = await connect(person, network, "Leith Bank", clock=clock, state=None)
    page = f"/vendors/{bank.id}"
    shown = (await signed_in.get(page)).text
    assert "holds nothing of yours to copy or erase" in shown
    assert f"{page}/export" not in shown
    refused = await post(signed_in, page, f"{page}/export")
    assert refused.status_code == 409
    assert "never accepted the relationship" in refused.text
    assert person.data_requests(str(bank.id)) == []


async def test_the_export_is_shown_next_to_what_was_sent(
    signed_in: httpx.AsyncClient,
    person: PersonalAgent,
    network: VendorNetwork,
    worker: DeliveryWorker,
    clock: Clock,
) -> None:
    """Each item the vendor holds: its value, where it came from, and the profile's value now."""
    person.set_field("email.home", EMAIL, changed_by="test")
    vendor, grocer = await connect(person, network, "Corner Grocer", clock=clock)
    person.grant(str(grocer.id), ["email.home"], purpose="receipts")
    await deliver(worker)
    request = person.request_export(str(grocer.id))
    body = exported(
        request.message_id,
        clock,
        [("email.home", 1, EMAIL), ("phone.mobile", 1, "+44 7700 900999")],
        vendor_data={"segment": "frequent"},
    )
    person.receive(signed(person, vendor, grocer, body, clock))
    shown = (await signed_in.get(f"/vendors/{grocer.id}")).text
    assert "2 items you never sent" in shown
    table = re.search(r'class="stack export".*?</table>', shown, re.S)
    assert table is not None
    rows = [
        " ".join(re.sub(r"<[^>]+>", " ", "<tr" + r).split())
        for r in table.group(0).split("<tr")[2:]
    ]
    assert rows == [
        f"email.home {EMAIL} sent by you {EMAIL}",
        "phone.mobile +44 7700 900999 ! not sent by you not in your profile",
        "segment frequent ! added by the vendor not in your profile",
    ]
    assert "answered" in shown


async def test_a_vendors_alternative_terms_are_answered_on_its_page(
    signed_in: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Terms waiting for the person show Accept and Decline; accepting makes the agreement."""
    vendor, grocer = await connect(person, network, "Corner Grocer", clock=clock, state=None)
    vendor_accepts_relationship(person, vendor, grocer, clock)
    message, _ = offer_alternative(person, vendor, grocer, terms("PDC-AI"), clock=clock)
    person.receive(message)
    [waiting] = [a for a in person.agreements(str(grocer.id)) if a.state == "alternative"]
    page = f"/vendors/{grocer.id}"
    shown = (await signed_in.get(page)).text
    assert "Corner Grocer answered with other terms" in shown
    assert "Accept the terms of Corner Grocer" in shown
    listed = card((await signed_in.get("/vendors")).text, grocer.id)
    assert "yours to accept or decline" in listed
    accepted = await post(signed_in, page, f"{page}/agreements/{waiting.id}", answer="accept")
    assert accepted.status_code == 303
    assert person.agreement(waiting.id).state == "active"
    shown = (await signed_in.get(accepted.headers["location"])).text
    assert "You accepted the terms of Corner Grocer" in shown
    assert "Agreed: <strong>PDC-AI</strong>" in shown
    again = await post(signed_in, page, f"{page}/agreements/{waiting.id}", answer="decline")
    assert again.status_code == 409
    assert "nothing to answer" in again.text


async def test_a_failed_delivery_is_retried_from_the_page(
    signed_in: httpx.AsyncClient,
    person: PersonalAgent,
    network: VendorNetwork,
    worker: DeliveryWorker,
    clock: Clock,
) -> None:
    """A refused message is failed with its reason and a Retry button; retrying queues it."""
    person.set_field("email.home", EMAIL, changed_by="test")
    vendor, grocer = await connect(person, network, "Corner Grocer", clock=clock)
    await deliver(worker)
    person.grant(str(grocer.id), ["email.home"], purpose="receipts")
    network.script(vendor, refusal(400, "bad_signature"))
    await deliver(worker)
    [failed] = person.deliveries(state="failed")
    page = f"/vendors/{grocer.id}"
    shown = (await signed_in.get(page)).text
    row = re.search(rf'id="delivery-{failed.id}".*?</tr>', shown, re.S)
    assert row is not None
    assert "profile.update" in row.group(0)
    assert "bad_signature" in row.group(0)
    assert 'Retry<span class="vh"> sending profile.update to Corner Grocer' in row.group(0)
    retried = await post(signed_in, page, f"{page}/deliveries/{failed.id}/retry")
    assert retried.status_code == 303
    assert person.deliveries(state="failed") == []
    await deliver(worker)
    assert vendor.received(PROFILE_UPDATE)
    other = await post(signed_in, page, f"{page}/deliveries/{failed.id}/retry")
    assert other.status_code == 409
    assert "not a failed delivery" in other.text


async def test_a_post_without_the_csrf_token_changes_nothing(
    signed_in: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Every action without the session's token: 403, and the relationship is as it was."""
    person.set_field("email.home", EMAIL, changed_by="test")
    _, grocer = await connect(person, network, "Corner Grocer", clock=clock)
    person.grant(str(grocer.id), ["email.home"], purpose="receipts")
    before = (person.vendor(str(grocer.id)), person.grants(), person.data_requests())
    page = f"/vendors/{grocer.id}"
    attempts = {
        "/vendors": {"url": "https://shop.example"},
        f"{page}/pause": {},
        f"{page}/end": {"confirm": "yes"},
        f"{page}/grants": {"field": "email.home", "purpose": "more", "until": ""},
        f"{page}/grants/revoke": {"field": "email.home"},
        f"{page}/export": {},
        f"{page}/erase": {"confirm": "yes"},
    }
    for action, fields in attempts.items():
        for token in (None, "wrong"):
            data = fields if token is None else {**fields, "csrf_token": token}
            refused = await signed_in.post(action, data=data)
            assert refused.status_code == 403, action
            assert "Nothing was changed" in refused.text
    assert (person.vendor(str(grocer.id)), person.grants(), person.data_requests()) == before
    assert len(person.vendors()) == 1


async def test_the_pages_need_a_signed_in_session(
    agent: UnlockedAgent, person: PersonalAgent, tmp_path: Path
) -> None:
    """Without signing in, every Vendors page goes to the sign-in page."""
    async with build_client(agent, person, tmp_path, SignInLimits(failure_delay=0)) as client:
        for path in ("/vendors", "/vendors/1", "/vendors/1/end", "/vendors/1/erase"):
            reply = await client.get(path)
            assert reply.status_code == 303
            assert reply.headers["location"] == "/sign-in"
