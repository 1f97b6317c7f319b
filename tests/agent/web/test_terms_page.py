"""The Terms page: the roster in words, the default chosen by form, refusals that change nothing."""

from __future__ import annotations

import httpx
import pytest

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
