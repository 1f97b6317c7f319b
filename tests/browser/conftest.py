"""Chromium for the browser tests, and what every test of the person's pages needs.

Debian's Chromium (``/usr/bin/chromium``) driven by Playwright, headless; without
it the tests skip with the reason (and fail in CI, which installs it).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import service_missing
from tests.processes import ServiceProcess, start_agent
from vrm.agent.home import AgentHome
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.setup import init_agent, unlocked
from vrm.vault import FAST_INSECURE_KDF

CHROMIUM = "/usr/bin/chromium"
PASSPHRASE = "correct horse"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
"""Where ``make screenshots`` has the tests save the pictures the README shows."""


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (no browser download)."""
    if not Path(CHROMIUM).exists():
        service_missing("Chromium", f"{CHROMIUM} is absent (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_missing("Chromium", "playwright is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


@dataclass
class Watched:
    """A page and what went wrong on it: console errors, uncaught script errors."""

    page: Any
    problems: list[str] = field(default_factory=list)

    def assert_clean(self, *expected: str) -> None:
        """No CSP violation, missing resource or script error but the ``expected`` ones."""
        unexpected = [p for p in self.problems if not any(e in p for e in expected)]
        assert unexpected == []


def watched_page(context: Any) -> Watched:
    """A new page of ``context`` whose console errors and script errors are collected."""
    page = context.new_page()
    watched = Watched(page)
    page.on("console", lambda m: watched.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: watched.problems.append(str(error)))
    return watched


def sign_in(page: Any, url: str, passphrase: str = PASSPHRASE) -> None:
    """Sign in to the agent at ``url`` and wait for Home."""
    page.goto(f"{url}/sign-in")
    page.get_by_label("Passphrase").fill(passphrase)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Home", exact=True).wait_for()


def fits_a_phone(context: Any, *urls: str) -> None:
    """At 390 px wide, signed in as ``context`` is, each page of ``urls`` scrolls only downwards."""
    phone = context.browser.new_context(
        viewport={"width": 390, "height": 844}, storage_state=context.storage_state()
    )
    small = phone.new_page()
    for url in urls:
        small.goto(url)
        assert small.evaluate("document.documentElement.scrollWidth") <= 390, url
    phone.close()


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """Picture ``page`` as ``name``.png; return where it was saved.

    Into docs/screenshots/ (shown in the README) when VRM_SCREENSHOTS is set, as
    ``make screenshots`` does; otherwise into a temporary folder, so that a test
    run leaves the working tree as it found it.
    """
    folder = SCREENSHOTS if os.environ.get("VRM_SCREENSHOTS") else _scratch()
    folder.mkdir(parents=True, exist_ok=True)
    saved = folder / f"{name}.png"
    page.screenshot(path=str(saved), full_page=full_page)
    return saved


def _scratch() -> Path:
    return Path(tempfile.gettempdir()) / f"vrm-screenshots-{os.getpid()}"


@dataclass
class AgentUp:
    """A person's agent running as ``vrm up`` in its own process."""

    process: ServiceProcess
    api_token: str
    home: AgentHome

    @property
    def url(self) -> str:
        """Where it listens (pages at /, API at /api)."""
        return self.process.url


@pytest.fixture
def agent_up(tmp_path: Path) -> Iterator[Callable[..., AgentUp]]:
    """Start ``vrm up`` for a new agent (loopback vendors allowed); stopped after the test.

    Call it with ``prepare(person)`` to set the agent up (fields, settings) before it starts.
    """
    started: list[ServiceProcess] = []

    def start(prepare: Callable[[PersonalAgent], None] | None = None) -> AgentUp:
        home = AgentHome(tmp_path / f"agent-{len(started)}")
        token = init_agent(home, PASSPHRASE, kdf=FAST_INSECURE_KDF).api_token
        with unlocked(home, PASSPHRASE) as opened:
            person = PersonalAgent(opened.engine, opened.sealer)
            person.set_config("allow_loopback", "true")
            if prepare is not None:
                prepare(person)
        process = start_agent(home.path, PASSPHRASE)
        started.append(process)
        return AgentUp(process, token, home)

    yield start
    for process in started:
        process.stop()
