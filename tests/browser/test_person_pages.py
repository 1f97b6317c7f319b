"""The person's pages in Chromium, against ``vrm up`` in its own process.

Sign in (a wrong passphrase first), see Home with a held grant, sign out; the
screenshots in docs/screenshots/ are made here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import (
    PASSPHRASE,
    AgentUp,
    screenshot,
    sign_in,
    watched_page,
)
from tests.processes import ServiceProcess, start_agent, start_fleet
from vrm.agent.home import AgentHome
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.setup import init_agent, unlocked
from vrm.vault import FAST_INSECURE_KDF

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture
def agent_with_a_held_grant(tmp_path: Path) -> Iterator[ServiceProcess]:
    """``vrm up`` with one vendor that refused the relationship and a grant held for it."""
    home = AgentHome(tmp_path / "agent")
    token = init_agent(home, PASSPHRASE, kdf=FAST_INSECURE_KDF).api_token
    with unlocked(home, PASSPHRASE) as opened:
        person = PersonalAgent(opened.engine, opened.sealer)
        person.set_config("allow_loopback", "true")
        person.set_field("email.home", "ann@example.org", changed_by="test")
    picky = start_fleet(1, base="picky", policy="refuse")
    agent = start_agent(home.path, PASSPHRASE)
    try:
        with httpx.Client(
            base_url=agent.url, headers={"Authorization": f"Bearer {token}"}, timeout=20
        ) as api:
            vendor = api.post("/api/vendors", json={"url": picky.url}).json()
            deadline = time.monotonic() + 15
            while api.get(f"/api/vendors/{vendor['id']}").json()["vendor_state"] != "refused":
                assert time.monotonic() < deadline, "the vendor never answered"
                time.sleep(0.05)
            api.post(
                "/api/grants",
                json={"vendor": str(vendor["id"]), "fields": ["email.home"], "purpose": "receipts"},
            ).raise_for_status()
        yield agent
    finally:
        agent.stop()
        picky.stop()


def test_sign_in_see_home_and_sign_out(
    chromium: Any, agent_with_a_held_grant: ServiceProcess
) -> None:
    """By keyboard: a wrong passphrase is refused, the right one opens Home; sign-out ends it."""
    url = agent_with_a_held_grant.url
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    expected = "status of 422"  # the answer to the wrong passphrase
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(f"{url}/")
    assert page.url == f"{url}/sign-in"
    screenshot(page, "sign-in", full_page=False)
    page.get_by_label("Passphrase").fill("not my passphrase")
    page.keyboard.press("Enter")
    page.get_by_role("alert").wait_for()
    assert "does not open your agent" in page.get_by_role("alert").inner_text()

    page.get_by_label("Passphrase").fill(PASSPHRASE)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Home", exact=True).wait_for()
    held = page.locator("#held").inner_text()
    assert "fleet vendor 0" in held
    assert "email.home" in held
    assert "refused" in held
    assert page.get_by_role("link", name="Home").get_attribute("aria-current") == "page"
    screenshot(page, "home")

    phone = chromium.new_context(
        viewport={"width": 390, "height": 844}, storage_state=context.storage_state()
    )
    small = phone.new_page()
    small.goto(f"{url}/")
    small.get_by_role("heading", name="Home", exact=True).wait_for()
    assert small.evaluate("document.documentElement.scrollWidth") <= 390  # nothing overflows
    screenshot(small, "home-phone")
    phone.close()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{url}/sign-in")
    page.goto(f"{url}/")
    assert page.url == f"{url}/sign-in"
    # No Content-Security-Policy violation, no missing resource, no script error.
    assert [problem for problem in problems if expected not in problem] == []
    context.close()


def test_terms_audit_and_settings_by_keyboard_and_a_forged_form_refused(
    chromium: Any, agent_up: Callable[..., AgentUp]
) -> None:
    """Choose terms, find the choice in the audit log, and see a form without its token refused."""
    agent = agent_up(
        lambda person: person.set_field("email.home", "ann@example.org", changed_by="test")
    )
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    watched = watched_page(context)
    page = watched.page
    sign_in(page, agent.url)

    page.get_by_role("link", name="Terms").click()
    page.get_by_role("heading", name="Your terms").wait_for()
    page.get_by_label("Personal data contribution for the public good").check()
    page.get_by_label("Do not sell my data").check()
    page.get_by_role("button", name="Save my default terms").click()
    page.get_by_role("status").wait_for()
    assert "PDC-GOOD" in page.locator("#default-terms").inner_text()
    screenshot(page, "terms")

    page.get_by_role("link", name="Audit").click()
    page.get_by_role("heading", name="The log is whole").wait_for()
    log = page.locator(".log").inner_text()
    assert "Your default terms are now PDC-GOOD + delete-on-end + mine-too + no-resale" in log
    assert "email.home set" in log
    assert "Your agent was created" in log
    screenshot(page, "audit")

    page.get_by_role("link", name="Settings").click()
    page.get_by_role("heading", name="Settings", exact=True).wait_for()
    screenshot(page, "settings")
    # A form sent without its CSRF token (as another site's would be) is refused.
    page.get_by_label("Intent exchange").fill("https://forged.example")
    page.locator('form[action="/settings"] input[name="csrf_token"]').evaluate("e => e.remove()")
    page.get_by_role("button", name="Save settings").click()
    page.get_by_role("heading", name="Refused").wait_for()
    assert "was not sent from your session" in page.get_by_role("alert").inner_text()
    page.goto(f"{agent.url}/settings")
    assert page.get_by_label("Intent exchange").input_value() == ""
    watched.assert_clean("status of 403")
    context.close()
