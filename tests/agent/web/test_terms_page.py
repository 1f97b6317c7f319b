"""The Terms page: the roster in words, the default chosen by form, refusals that change nothing."""

from __future__ import annotations

import httpx
import pytest

from tests.agent.vendors import Clock, VendorNetwork, connect
from tests.agent.web.test_pages import csrf_of
from vrm.agent.personal_agent import PersonalAgent
from vrm.terms import AlternativeRule, library

pytestmark = pytest.mark.anyio


async def test_the_roster_and_the_default_are_shown(signed_in: httpx.AsyncClient) -> None:
    """Every agreement and term with its summary; the default's choices are checked."""
    page = await signed_in.get("/terms")
    assert page.status_code == 200
    for term in (*library().agreements, *library().terms):
        assert term.summary.replace("'", "&#39;") in page.text
    assert 'value="SD-BASE" checked' in page.text
    assert 'name="term-mine-too" value="on" checked' in page.text
    assert 'name="term-no-resale" value="on" aria' in page.text  # not checked


async def test_a_new_default_is_saved(signed_in: httpx.AsyncClient, person: PersonalAgent) -> None:
    """Another agreement, other terms, another rule: all three saved."""
    page = await signed_in.get("/terms")
    reply = await signed_in.post(
        "/terms",
        data={
            "csrf_token": csrf_of(page),
            "agreement": "PDC-GOOD",
            "term-no-resale": "on",
            "alternatives": "never",
        },
    )
    assert reply.status_code == 303
    settings = person.terms_settings()
    assert settings.default.agreement == "PDC-GOOD"
    assert settings.default.additional == ("no-resale",)
    assert settings.alternatives == AlternativeRule.NEVER
    assert "Saved." in (await signed_in.get(reply.headers["location"])).text


async def test_an_unknown_agreement_changes_nothing(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """Not in the roster: 422 with the reason; the default is as before. No token: 403."""
    before = person.terms_settings()
    page = await signed_in.get("/terms")
    reply = await signed_in.post(
        "/terms",
        data={"csrf_token": csrf_of(page), "agreement": "ANYTHING", "alternatives": "ask"},
    )
    assert reply.status_code == 422
    assert "Choose one of the agreements." in reply.text
    no_token = await signed_in.post("/terms", data={"agreement": "PDC-AI", "alternatives": "ask"})
    assert no_token.status_code == 403
    assert person.terms_settings() == before


async def test_a_vendor_gets_terms_of_its_own_and_back_to_the_default(
    signed_in: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Other terms for one vendor are proffered to it alone; 'default again' undoes it."""
    _, grocer = await connect(person, network, "Corner Grocer", clock=clock)
    page = await signed_in.get(f"/vendors/{grocer.id}/terms")
    assert page.status_code == 200
    assert "your default terms" in page.text
    reply = await signed_in.post(
        f"/vendors/{grocer.id}/terms",
        data={"csrf_token": csrf_of(page), "agreement": "SD-BASE-DP", "term-no-resale": "on"},
    )
    assert reply.status_code == 303
    _, chosen, is_default = person.vendor_terms(str(grocer.id))
    assert (chosen.agreement, chosen.additional, is_default) == (
        "SD-BASE-DP",
        ("no-resale",),
        False,
    )
    assert person.agreements(str(grocer.id))[-1].terms.name == "SD-BASE-DP + no-resale"
    shown = await signed_in.get(reply.headers["location"])
    assert "chosen for Corner Grocer alone" in shown.text
    assert "proffered to Corner Grocer" in shown.text
    assert person.terms_settings().default.agreement == "SD-BASE"  # the default is untouched

    back = await signed_in.post(
        f"/vendors/{grocer.id}/terms", data={"csrf_token": csrf_of(shown), "use": "default"}
    )
    assert back.status_code == 303
    assert person.vendor_terms(str(grocer.id))[2] is True


async def test_vendor_terms_refusals_change_nothing(
    signed_in: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """No agreement chosen: 422; an unknown vendor: 404; no CSRF token: 403."""
    _, grocer = await connect(person, network, "Corner Grocer", clock=clock)
    page = await signed_in.get(f"/vendors/{grocer.id}/terms")
    refused = await signed_in.post(
        f"/vendors/{grocer.id}/terms", data={"csrf_token": csrf_of(page), "agreement": "X"}
    )
    assert refused.status_code == 422
    assert "Choose one of the agreements." in refused.text
    assert (await signed_in.get("/vendors/99/terms")).status_code == 404
    forged = await signed_in.post(f"/vendors/{grocer.id}/terms", data={"agreement": "PDC-AI"})
    assert forged.status_code == 403
    assert person.vendor_terms(str(grocer.id))[2] is True
