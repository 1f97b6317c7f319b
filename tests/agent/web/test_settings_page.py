"""The Settings page: settings saved or refused field by field, backup, staged restore, token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.agent.conftest import PASSPHRASE
from tests.agent.web.test_pages import csrf_of
from vrm.agent.backup import RestoreWaiting, finish_restore, pending_restore
from vrm.agent.home import AgentHome
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.setup import UnlockedAgent, init_agent, unlocked
from vrm.agent.web import settings_pages
from vrm.vault import FAST_INSECURE_KDF

pytestmark = pytest.mark.anyio


def restore_url(page: httpx.Response) -> str:
    """The restore form's address (it carries the CSRF token), as the page gives it."""
    found = re.search(r'action="(/settings/restore\?csrf_token=[^"]+)"', page.text)
    assert found, "no restore form on the page"
    return found.group(1).replace("&amp;", "&")


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
    upload = restore_url(page)
    refused = await signed_in.post(
        upload,
        data={"passphrase": "not it"},
        files={"backup": ("vrm-backup.db", backup.content, "application/octet-stream")},
    )
    assert refused.status_code == 422
    assert "That passphrase does not open the backup." in refused.text
    not_a_backup = await signed_in.post(
        upload,
        data={"passphrase": PASSPHRASE},
        files={"backup": ("notes.txt", b"just some notes", "text/plain")},
    )
    assert "That file is not a backup of a vrm agent." in not_a_backup.text
    database = tmp_path / "agent.db"
    assert not pending_restore(database).exists()
    assert not list(tmp_path.glob(".restore-*"))  # nothing left of the refused files

    staged = await signed_in.post(
        upload,
        data={"passphrase": PASSPHRASE},
        files={"backup": ("vrm-backup.db", backup.content, "application/octet-stream")},
    )
    assert staged.status_code == 303
    assert "A backup is ready to restore" in (await signed_in.get("/settings")).text
    assert not list(tmp_path.glob(".restore-*"))
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
    """The upload needs the session's CSRF token in its address, checked before the body."""
    for address in ("/settings/restore", "/settings/restore?csrf_token=made-up"):
        reply = await signed_in.post(
            address,
            data={"passphrase": PASSPHRASE, "csrf_token": "in the body is not enough"},
            files={"backup": ("b.db", b"SQLite format 3\x00", "application/octet-stream")},
        )
        assert reply.status_code == 403
    assert not pending_restore(tmp_path / "agent.db").exists()


async def test_an_upload_larger_than_any_backup_is_refused_as_it_arrives(
    signed_in: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bytes received are counted (no Content-Length to trust): 413, nothing staged."""
    monkeypatch.setattr(settings_pages, "MAX_BACKUP_BYTES", 64 * 1024)
    page = await signed_in.get("/settings")

    async def chunks() -> AsyncIterator[bytes]:
        boundary = b"--b\r\n"
        yield boundary + b'Content-Disposition: form-data; name="passphrase"\r\n\r\nx\r\n'
        yield boundary + b'Content-Disposition: form-data; name="backup"; filename="b.db"\r\n\r\n'
        for _ in range(100):
            yield b"\0" * 4096
        yield b"\r\n--b--\r\n"

    reply = await signed_in.post(
        restore_url(page),
        content=chunks(),
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert reply.status_code == 413
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
    with pytest.raises(RestoreWaiting, match="the backup's passphrase"):
        finish_restore(home, PASSPHRASE)
    assert pending_restore(home.database).exists()
    assert finish_restore(home, "another passphrase") is not None
