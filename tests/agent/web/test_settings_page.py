"""The Settings page: settings saved or refused field by field, backup, staged restore, token."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.agent.conftest import PASSPHRASE
from tests.agent.web.test_pages import csrf_of
from vrm.agent.backup import finish_restore, pending_restore
from vrm.agent.home import AgentHome
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.setup import UnlockedAgent, init_agent, unlocked
from vrm.vault import FAST_INSECURE_KDF, WrongPassphrase

pytestmark = pytest.mark.anyio


async def settings_form(client: httpx.AsyncClient, **changes: str) -> dict[str, str]:
    page = await client.get("/settings")
    form = {
        "csrf_token": csrf_of(page),
        "public_url": "",
        "exchange_url": "",
        "delivery_max_age": "3",
        "answer_deadline": "30",
    }
    form.update(changes)
    return form


async def test_settings_are_saved_in_days_and_urls(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """Days become seconds, a ticked box turns a switch on, an empty URL stays unset."""
    form = await settings_form(
        signed_in,
        exchange_url="https://exchange.example",
        delivery_max_age="2.5",
        allow_private="on",
    )
    reply = await signed_in.post("/settings", data=form)
    assert reply.status_code == 303
    config = person.config()
    assert config.exchange_url == "https://exchange.example"
    assert config.delivery_max_age == 2.5 * 24 * 3600
    assert config.allow_private is True
    assert config.allow_loopback is False
    assert config.public_url is None
    page = await signed_in.get(reply.headers["location"])
    assert "Settings saved." in page.text
    assert 'value="2.5"' in page.text


async def test_values_that_do_not_fit_are_named_and_nothing_is_saved(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """A bad URL and too many days: 422, a message by each, the typed values kept."""
    before = person.config()
    form = await settings_form(
        signed_in, exchange_url="exchange.example", delivery_max_age="40", answer_deadline="9"
    )
    reply = await signed_in.post("/settings", data=form)
    assert reply.status_code == 422
    assert "Nothing was saved: 2 values to correct" in reply.text
    assert "Give a URL starting with http:// or https://." in reply.text
    assert "at most 29." in reply.text
    assert 'value="exchange.example"' in reply.text
    assert 'value="40"' in reply.text
    assert person.config() == before


async def test_a_form_without_the_token_changes_nothing(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """No CSRF token: refused (403), the setting unchanged."""
    form = await settings_form(signed_in, exchange_url="https://evil.example")
    del form["csrf_token"]
    reply = await signed_in.post("/settings", data=form)
    assert reply.status_code == 403
    assert person.config().exchange_url is None


async def test_a_backup_downloads_and_restores_at_the_next_start(
    signed_in: httpx.AsyncClient, agent: UnlockedAgent, person: PersonalAgent, tmp_path: Path
) -> None:
    """Download, change the profile, upload the backup: staged; the next start restores it."""
    person.set_field("email.home", "before@example.org", changed_by="test")
    backup = await signed_in.get("/settings/backup")
    assert backup.status_code == 200
    assert "attachment" in backup.headers["content-disposition"]
    assert backup.content.startswith(b"SQLite format 3")
    person.set_field("email.home", "after@example.org", changed_by="test")

    page = await signed_in.get("/settings")
    refused = await signed_in.post(
        "/settings/restore",
        data={"csrf_token": csrf_of(page), "passphrase": "not it"},
        files={"backup": ("vrm-backup.db", backup.content, "application/octet-stream")},
    )
    assert refused.status_code == 422
    assert "That passphrase does not open the backup." in refused.text
    not_a_backup = await signed_in.post(
        "/settings/restore",
        data={"csrf_token": csrf_of(page), "passphrase": PASSPHRASE},
        files={"backup": ("notes.txt", b"just some notes", "text/plain")},
    )
    assert "That file is not a backup of a vrm agent." in not_a_backup.text
    database = tmp_path / "agent.db"
    assert not pending_restore(database).exists()

    staged = await signed_in.post(
        "/settings/restore",
        data={"csrf_token": csrf_of(page), "passphrase": PASSPHRASE},
        files={"backup": ("vrm-backup.db", backup.content, "application/octet-stream")},
    )
    assert staged.status_code == 303
    assert "A backup is ready to restore" in (await signed_in.get("/settings")).text
    assert person.profile()["email.home"] == "after@example.org"  # nothing swapped while running

    agent.engine.dispose()
    kept = finish_restore(AgentHome(tmp_path), PASSPHRASE)
    assert kept is not None
    assert kept.exists()
    assert not pending_restore(database).exists()
    with unlocked(AgentHome(tmp_path), PASSPHRASE) as reopened:
        restored = PersonalAgent(reopened.engine, reopened.sealer)
        assert restored.profile()["email.home"] == "before@example.org"


async def test_a_restore_without_the_token_is_refused(
    signed_in: httpx.AsyncClient, tmp_path: Path
) -> None:
    """The upload form needs the session's CSRF token too."""
    reply = await signed_in.post(
        "/settings/restore",
        data={"passphrase": PASSPHRASE},
        files={"backup": ("b.db", b"SQLite format 3\x00", "application/octet-stream")},
    )
    assert reply.status_code == 403
    assert not pending_restore(tmp_path / "agent.db").exists()


async def test_the_token_is_shown_on_request_and_can_be_replaced(
    signed_in: httpx.AsyncClient, agent: UnlockedAgent
) -> None:
    """Shown only after asking; replaced, the old one no longer opens the API, the new one does."""
    page = await signed_in.get("/settings")
    assert agent.api_token not in page.text
    shown = await signed_in.post(
        "/settings/token", data={"csrf_token": csrf_of(page), "action": "show"}
    )
    assert agent.api_token in shown.text
    replaced = await signed_in.post(
        "/settings/token", data={"csrf_token": csrf_of(page), "action": "replace"}
    )
    new = re.search(r'id="token-value" type="text" readonly value="([^"]+)"', replaced.text)
    assert new
    assert new.group(1) != agent.api_token
    old = {"Authorization": f"Bearer {agent.api_token}"}
    assert (await signed_in.get("/api/profile", headers=old)).status_code == 401
    fresh = {"Authorization": f"Bearer {new.group(1)}"}
    assert (await signed_in.get("/api/profile", headers=fresh)).status_code == 200


def test_a_staged_restore_waits_for_its_own_passphrase(tmp_path: Path) -> None:
    """Started with a passphrase that does not open the staged backup: an error, still staged."""
    other = AgentHome(tmp_path / "other")
    init_agent(other, "another passphrase", kdf=FAST_INSECURE_KDF)
    home = AgentHome(tmp_path / "mine")
    init_agent(home, PASSPHRASE, kdf=FAST_INSECURE_KDF)
    pending_restore(home.database).write_bytes(other.database.read_bytes())
    with pytest.raises(WrongPassphrase):
        finish_restore(home, PASSPHRASE)
    assert pending_restore(home.database).exists()
    assert finish_restore(home, "another passphrase") is not None
