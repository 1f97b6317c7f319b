"""The console's page of a patient's presented health records: in words, with the time left."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.vendor.test_health import presentation
from tests.vendor.web.test_console_pages import Console, open_console
from vrm.protocol import HEALTH_PRESENTATION, HEALTH_WITHDRAW, Identity
from vrm.vendor.web.health_pages import time_left

pytestmark = pytest.mark.anyio
HOUR = 3600


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    """The console of an endpoint accepting every request, signed in."""
    async for opened in open_console(tmp_path):
        await opened.sign_in()
        yield opened


async def test_the_records_a_patient_presents_are_shown_in_words_until_withdrawn(
    console: Console,
) -> None:
    """By kind, each in a line, the purpose and the time left; gone once withdrawn."""
    patient = Identity.generate()
    await console.relates(patient)
    page = f"/console/customers/{patient.did}/health"
    assert "presents no health records to you now" in (await console.browser.get(page)).text
    body = presentation(
        "cond-diabetes", "allergy-penicillin", "obs-hba1c", until=time.time() + 2 * HOUR + 90
    )
    await console.arrives(patient, HEALTH_PRESENTATION, body)

    shown = await console.browser.get(page)
    assert shown.status_code == 200
    assert '<h2 id="presented-1">First visit: diabetes care</h2>' in shown.text
    assert "2 hours 1 minute left" in shown.text
    text = shown.text
    assert text.index("<h3>Conditions</h3>") < text.index("<h3>Allergies</h3>")
    assert text.index("<h3>Allergies</h3>") < text.index("<h3>Observations</h3>")
    assert "Type 2 diabetes mellitus — active, onset 2019-03-12" in text
    customer = await console.browser.get(f"/console/customers/{patient.did}")
    assert f'href="/console/customers/{patient.did.replace(":", "%3A")}/health"' in customer.text

    withdraw = {"presentation": body["presentation"], "reason": "revoked"}
    await console.arrives(patient, HEALTH_WITHDRAW, withdraw)
    after = await console.browser.get(page)
    assert "presents no health records to you now" in after.text
    assert "Type 2 diabetes" not in after.text


async def test_an_unknown_customer_is_a_page_saying_so(console: Console) -> None:
    """404, as a page of the console."""
    missing = await console.browser.get(f"/console/customers/{Identity.generate().did}/health")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")


def test_the_time_left_is_said_in_days_hours_and_minutes() -> None:
    """Days and hours when over a day; hours and minutes within it; under a minute at the end."""
    assert time_left(3 * 86400 + 4 * 3600 + 59) == "3 days 4 hours left"
    assert time_left(86400) == "1 day left"
    assert time_left(3600 + 60) == "1 hour 1 minute left"
    assert time_left(59) == "under a minute left"
