"""The Health page in Chromium, against ``vrm up`` and a doctor's ``vrm serve vendor``.

Import a Bundle from a file, present two records to the doctor (a checkbox each, by
keyboard), see the presentation listed and the doctor holding just those, withdraw it
and see the doctor's confirmation of deletion; at 390 px wide nothing overflows, and no
page breaks a rule of the Content-Security-Policy. The screenshot ``health`` in
docs/screenshots/ is made here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agent.health.bundles import SAMPLE
from tests.browser.conftest import AgentUp, fits_a_phone, screenshot, sign_in, watched_page
from tests.e2e.test_vendor_endpoint import start_vendor
from tests.processes import ServiceProcess

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
DEADLINE = 20.0


@pytest.fixture
def doctor(tmp_path: Path) -> Iterator[tuple[ServiceProcess, httpx.Client]]:
    """A doctor's endpoint accepting every relationship, and its API."""
    service, api = start_vendor(tmp_path / "practice", "--name", "Leith Practice")
    yield service, api
    api.close()
    service.stop()


def until(check: Callable[[], Any], what: str, *, reload: Any = None) -> Any:
    """Wait for ``check`` to hold (reloading ``reload``, a page, between tries)."""
    deadline = time.monotonic() + DEADLINE
    while not (found := check()):
        assert time.monotonic() < deadline, f"waited {DEADLINE:.0f} s for {what}"
        time.sleep(0.2)
        if reload is not None:
            reload.reload()
    return found


def related(up: AgentUp, doctor_url: str) -> str:
    """Relate with the doctor through the agent's API; the person's DID with it, once active."""
    with httpx.Client(
        base_url=up.url, headers={"Authorization": f"Bearer {up.api_token}"}, timeout=20
    ) as api:
        added = api.post("/api/vendors", json={"url": doctor_url})
        assert added.status_code == 201, added.text
        number = added.json()["id"]
        vendor = until(
            lambda: (v := api.get(f"/api/vendors/{number}").json())["active"] and v,
            "the doctor to accept the relationship and the terms",
        )
    our_did: str = vendor["our_did"]
    return our_did


def test_import_present_see_it_held_and_withdraw(
    chromium: Any,
    agent_up: Callable[..., AgentUp],
    doctor: tuple[ServiceProcess, httpx.Client],
) -> None:
    """The whole round on the Health page, and the doctor's endpoint following it."""
    service, doctor_api = doctor
    up = agent_up()
    our_did = related(up, service.url)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    watched = watched_page(context)
    page = watched.page
    sign_in(page, up.url)
    page.get_by_role("link", name="Health", exact=True).click()
    page.get_by_role("heading", name="Health", exact=True).wait_for()
    assert "No health records yet" in page.locator("main").inner_text()

    page.get_by_label("A Bundle file (JSON)").set_input_files(str(SAMPLE))
    page.get_by_role("button", name="Import").click()
    page.get_by_text("Imported 8 health records.").wait_for()
    for kind in ("Conditions", "Allergies", "Medicines", "Immunisations", "Observations"):
        page.get_by_role("heading", name=kind, exact=True).wait_for()

    diabetes = page.get_by_role("checkbox", name="Type 2 diabetes mellitus — active")
    diabetes.focus()
    page.keyboard.press("Space")  # by keyboard
    assert diabetes.is_checked()
    page.get_by_role("checkbox", name="Penicillin").check()
    page.get_by_label("Doctor", exact=True).select_option(label="Leith Practice")
    page.get_by_label("For", exact=True).select_option(label="1 day")
    page.get_by_label("What for").fill("First visit")
    page.get_by_role("button", name="Present", exact=True).click()
    page.get_by_text("Presented (presentation 1)").wait_for()
    listed = page.locator("#presentation-1")
    assert "To Leith Practice" in listed.inner_text()
    assert "active" in listed.inner_text()

    held = until(
        lambda: doctor_api.get(f"/api/customers/{our_did}/health").json(),
        "the doctor holding the records",
    )
    [presented] = held
    ids = [entry["resource"]["id"] for entry in presented["bundle"]["entry"]]
    assert ids == ["cond-diabetes", "allergy-penicillin"]
    screenshot(page, "health")

    page.get_by_role("button", name="Withdraw presentation 1 to Leith Practice").click()
    page.get_by_text("Withdrew presentation 1").wait_for()
    until(
        lambda: "deleted, confirmed at" in listed.inner_text(),
        "the doctor's confirmation of deletion",
        reload=page,
    )
    assert "withdrawn" in listed.inner_text()
    assert doctor_api.get(f"/api/customers/{our_did}/health").json() == []

    fits_a_phone(context, f"{up.url}/health-records", f"{up.url}/health-records/2")
    watched.assert_clean()
    context.close()
