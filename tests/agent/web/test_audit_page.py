"""The Audit page: the log in words, newest first, filtered and paged, and its chain checked."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.agent.web.test_pages import build_client
from vrm.agent.audit.service import append_all
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.setup import UnlockedAgent
from vrm.agent.web import SignInLimits

pytestmark = pytest.mark.anyio


async def test_the_log_reads_as_sentences_newest_first(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """A profile change shows in words above the agent's creation, and the chain is whole."""
    person.set_field("email.home", "ann@example.org", changed_by="web")
    page = await signed_in.get("/audit")
    assert page.status_code == 200
    assert "The log is whole" in page.text
    assert "All 2 entries were checked" in page.text
    newest, oldest = (
        page.text.index("email.home set (version 1, by web)"),
        page.text.index("Your agent was created"),
    )
    assert newest < oldest


async def test_a_tampered_entry_is_named(
    signed_in: httpx.AsyncClient, person: PersonalAgent, agent: UnlockedAgent
) -> None:
    """An entry edited in the database turns the page's verdict and names the entry."""
    person.set_field("email.home", "ann@example.org", changed_by="web")
    with agent.engine.begin() as connection:
        connection.execute(text("UPDATE audit_entries SET at = at + 1 WHERE seq = 2"))
    page = await signed_in.get("/audit")
    assert "The log was tampered with" in page.text
    assert "entry 2 was altered" in page.text


async def test_filter_by_group_and_page_back(
    signed_in: httpx.AsyncClient, person: PersonalAgent, agent: UnlockedAgent
) -> None:
    """60 grants-like entries page in fifties; the profile group hides them."""
    with agent.engine.begin() as connection:
        append_all(
            connection,
            agent.sealer,
            [
                ("grant.added", {"vendor": 9, "fields": [f"f{i}"], "purpose": "p"})
                for i in range(60)
            ],
        )
    person.set_field("email.home", "ann@example.org", changed_by="web")
    first = await signed_in.get("/audit")
    assert first.text.count('<li id="entry-') == 50
    assert "Granted f59 to vendor 9" in first.text
    older = await signed_in.get("/audit", params={"before": 13})
    assert older.text.count('<li id="entry-') == 12
    assert "Your agent was created" in older.text
    profile = await signed_in.get("/audit", params={"group": "profile"})
    assert "email.home set" in profile.text
    assert "Granted" not in profile.text
    assert "Older entries" not in profile.text


async def test_the_whole_log_downloads_as_json(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """GET /audit.json is every entry with its details, oldest first, as an attachment."""
    person.set_field("email.home", "ann@example.org", changed_by="web")
    reply = await signed_in.get("/audit.json")
    assert "attachment" in reply.headers["content-disposition"]
    entries = json.loads(reply.text)
    assert [e["kind"] for e in entries] == ["agent.created", "profile.set"]
    assert entries[1]["details"]["field"] == "email.home"


async def test_the_log_needs_a_session(
    agent: UnlockedAgent, person: PersonalAgent, tmp_path: Path
) -> None:
    """Without signing in, both the page and the download go to sign-in."""
    async with build_client(agent, person, tmp_path, SignInLimits(failure_delay=0)) as client:
        for path in ("/audit", "/audit.json"):
            reply = await client.get(path)
            assert reply.status_code == 303
            assert reply.headers["location"] == "/sign-in"


async def test_a_page_number_that_is_not_one_shows_the_newest(
    signed_in: httpx.AsyncClient,
) -> None:
    """?before= with letters, or beyond any number, answers the first page, not an error."""
    for odd in ("abc", "-3", "9" * 40):
        page = await signed_in.get("/audit", params={"before": odd})
        assert page.status_code == 200
        assert "Your agent was created" in page.text


async def test_the_verdict_is_checked_again_once_an_entry_is_added(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """Paging reuses the verdict; a new entry makes the next view count it."""
    assert "Its one entry was checked" in (await signed_in.get("/audit")).text
    person.set_field("email.home", "ann@example.org", changed_by="web")
    assert "All 2 entries were checked" in (await signed_in.get("/audit")).text
