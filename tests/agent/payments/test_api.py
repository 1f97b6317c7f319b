"""EmanciPay through /api/payments: budget, payees, uses, preview, pay, ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.agent.payments.providers import CountingProvider, outage
from vrm.agent.api.app import create_agent_app
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.setup import UnlockedAgent

pytestmark = pytest.mark.anyio


@pytest.fixture
def built(agent: UnlockedAgent, person: PersonalAgent, tmp_path: Path) -> FastAPI:
    """The agent's app."""
    return create_agent_app(
        person,
        api_token=agent.api_token,
        seen_ids_path=tmp_path / "seen-ids.db",
        database_path=tmp_path / "agent.db",
    )


@pytest.fixture
async def app(built: FastAPI, agent: UnlockedAgent) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the agent's app in-process, with the API token."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=built),
        base_url="http://agent.test",
        headers={"authorization": f"Bearer {agent.api_token}"},
    ) as client:
        yield client


async def test_budget_payees_uses_preview_pay_and_ledger(
    app: httpx.AsyncClient, built: FastAPI
) -> None:
    """One month end to end: set up, log a use, preview, pay (one retry), read the ledger."""
    assert (await app.get("/api/payments/budget")).json() is None
    budget = await app.put("/api/payments/budget", json={"amount": "12.00", "currency": "eur"})
    assert budget.json() == {"amount": "12.00", "currency": "EUR", "minor": 1200}

    radio = await app.post(
        "/api/payments/payees",
        json={
            "name": "Radio Quincunx",
            "per_use": "0.50",
            "unit": "hour",
            "endpoint": "https://quincunx.example/vrm",
            "terms": ["no fund-drive calls"],
        },
    )
    assert radio.status_code == 201, radio.text
    radio_id = radio.json()["id"]
    blog = await app.post("/api/payments/payees", json={"name": "Lark Blog", "weight": "1"})
    fixed = await app.post("/api/payments/payees", json={"name": "Fen Zine", "fixed": "3"})
    assert [p["name"] for p in (await app.get("/api/payments/payees")).json()] == [
        "Radio Quincunx",
        "Lark Blog",
        "Fen Zine",
    ]

    used = await app.post(
        "/api/payments/uses", json={"payee": radio_id, "units": "4", "month": "2026-03"}
    )
    assert used.status_code == 201, used.text
    assert (await app.get("/api/payments/uses", params={"month": "2026-03"})).json()[0][
        "units"
    ] == "4"

    preview = (await app.get("/api/payments/preview", params={"month": "2026-03"})).json()
    assert preview["month"] == "2026-03"
    assert [line["amount"] for line in preview["lines"]] == ["2.00", "7.00", "3.00"]
    assert (await app.get("/api/payments")).json() == []

    provider = CountingProvider(failures={blog.json()["id"]: [outage()]})
    built.state.payment_provider = provider
    first = (await app.post("/api/payments/pay", json={"month": "2026-03"})).json()
    assert [p["state"] for p in first] == ["paid", "failed", "paid"]
    again = (await app.post("/api/payments/pay", json={"month": "2026-03"})).json()
    assert [p["state"] for p in again] == ["paid"] * 3
    assert set(provider.paid.values()) == {1}
    ledger = (await app.get("/api/payments", params={"month": "2026-03"})).json()
    assert [(p["payee_name"], p["amount"], p["attempts"]) for p in ledger] == [
        ("Radio Quincunx", "2.00", 1),
        ("Lark Blog", "7.00", 2),
        ("Fen Zine", "3.00", 1),
    ]

    removed = await app.delete(f"/api/payments/payees/{fixed.json()['id']}")
    assert removed.json()["removed_at"] is not None


async def test_the_ledger_only_provider_is_the_default(app: httpx.AsyncClient) -> None:
    """Without a provider configured, paying records the payments and moves no money."""
    await app.put("/api/payments/budget", json={"amount": "5", "currency": "USD"})
    await app.post("/api/payments/payees", json={"name": "Lark Blog", "weight": "1"})
    [paid] = (await app.post("/api/payments/pay", json={})).json()
    assert paid["state"] == "paid"
    assert paid["provider"] == "ledger-only"
    assert paid["reference"] == f"ledger:{paid['idempotency_key']}"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "said"),
    [
        ("put", "/api/payments/budget", {"amount": 12.5, "currency": "EUR"}, 422, "string"),
        ("put", "/api/payments/budget", {"amount": "12", "currency": "EUX"}, 422, "ISO 4217"),
        ("post", "/api/payments/pay", {"month": "2026-03"}, 409, "no budget"),
        ("get", "/api/payments/preview?month=2026-3", None, 422, "YYYY-MM"),
        ("post", "/api/payments/payees", {"name": "X", "weight": "1", "fixed": "2"}, 422, "one"),
        ("post", "/api/payments/payees", {"name": "X", "per_use": "1"}, 422, "unit"),
        ("delete", "/api/payments/payees/9", None, 404, "no payee 9"),
        ("post", "/api/payments/uses", {"payee": 9, "units": "1"}, 404, "no payee 9"),
    ],
)
async def test_mistakes_are_problems(
    app: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, object] | None,
    status: int,
    said: str,
) -> None:
    """A JSON number for money, an unknown currency, no budget, a bad month: problem+json."""
    response = await app.request(method.upper(), path, json=body)
    assert response.status_code == status, response.text
    assert said in response.text


async def test_the_api_needs_the_token(app: httpx.AsyncClient) -> None:
    """Without the bearer token nothing about payments is shown."""
    response = await app.get("/api/payments/payees", headers={"authorization": ""})
    assert response.status_code == 401
