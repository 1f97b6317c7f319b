"""EmanciPay between processes: ``vrm up`` pays, payees' ``vrm serve vendor`` acknowledge.

The person pays the month; each payee with an endpoint gets a signed notice with the
person's terms, keeps it, and signs a receipt that lands in the person's records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_agent_service import RunningAgent, eventually
from tests.e2e.test_vendor_endpoint import start_vendor

pytestmark = pytest.mark.e2e
TERMS = ["no fund-drive calls", "no resale of my contact"]


def post(agent: RunningAgent, path: str, body: dict[str, Any], status: int = 200) -> Any:
    reply = agent.api.post(path, json=body)
    assert reply.status_code == status, reply.text
    return reply.json()


def put(agent: RunningAgent, path: str, body: dict[str, Any]) -> Any:
    reply = agent.api.put(path, json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_paid_payees_are_told_with_the_terms_and_their_receipts_land_in_records(
    running_agent: RunningAgent, tmp_path: Path
) -> None:
    """Two stations told of their shares and the terms; each signs a receipt the agent keeps."""
    radio, radio_api = start_vendor(tmp_path / "radio")
    jazz, jazz_api = start_vendor(tmp_path / "jazz")
    try:
        put(running_agent, "/api/payments/budget", {"amount": "10.00", "currency": "EUR"})
        post(
            running_agent,
            "/api/payments/payees",
            {"name": "Radio Leith", "weight": "2", "endpoint": radio.url, "terms": TERMS},
            201,
        )
        post(
            running_agent,
            "/api/payments/payees",
            {"name": "Jazz FM", "weight": "1", "endpoint": jazz.url},
            201,
        )
        post(running_agent, "/api/payments/payees", {"name": "Busker", "fixed": "1.00"}, 201)
        paid = post(running_agent, "/api/payments/pay", {"month": "2026-11"})
        assert {p["payee_name"]: (p["amount"], p["state"]) for p in paid} == {
            "Radio Leith": ("6.00", "paid"),
            "Jazz FM": ("3.00", "paid"),
            "Busker": ("1.00", "paid"),
        }

        told = eventually(lambda: radio_api.get("/api/payments").json(), what="radio's notice")
        assert [(t["amount"], t["currency"], t["month"], t["terms"]) for t in told] == [
            ("6.00", "EUR", "2026-11", TERMS)
        ]
        jazz_told = eventually(lambda: jazz_api.get("/api/payments").json(), what="jazz notice")
        assert [(t["amount"], t["terms"]) for t in jazz_told] == [("3.00", [])]
        assert told[0]["payer"] != jazz_told[0]["payer"]  # a DID of its own for each payee

        def acknowledged() -> list[dict[str, Any]] | None:
            sent = running_agent.get("/api/payments/notices")["sent"]
            done = [notice for notice in sent if notice["acknowledged"]]
            return done if len(done) == 2 else None

        receipts = eventually(acknowledged, what="the payees' receipts")
        by_amount = {notice["receipt"]["amount"]: notice["receipt"] for notice in receipts}
        assert by_amount["6.00"]["terms"] == TERMS
        assert by_amount["6.00"]["payee"] == "Corner Grocer"
        assert all(notice["signed_receipt"].count(".") == 2 for notice in receipts)
        assert running_agent.get("/api/payments/notices")["waiting"] == []

        kinds = [entry["kind"] for entry in running_agent.get("/api/audit")]
        assert kinds.count("payment.notice_sent") == 2
        assert kinds.count("payment.acknowledged") == 2

        again = post(running_agent, "/api/payments/pay", {"month": "2026-11"})
        assert [p["state"] for p in again] == ["paid"] * 3
        assert len(radio_api.get("/api/payments").json()) == 1  # told once
    finally:
        for service, api in ((radio, radio_api), (jazz, jazz_api)):
            api.close()
            service.stop()


def test_a_payee_not_reached_is_told_once_it_answers(
    running_agent: RunningAgent, tmp_path: Path
) -> None:
    """A payee whose endpoint is down is listed as waiting, with the reason, and told later."""
    radio, radio_api = start_vendor(tmp_path / "radio")
    url = radio.url
    radio_api.close()
    radio.stop()
    put(running_agent, "/api/payments/budget", {"amount": "5.00", "currency": "EUR"})
    post(
        running_agent,
        "/api/payments/payees",
        {"name": "Radio Leith", "weight": "1", "endpoint": url},
        201,
    )
    paid = post(running_agent, "/api/payments/pay", {})
    assert [p["state"] for p in paid] == ["paid"]
    waiting = running_agent.get("/api/payments/notices")["waiting"]
    assert len(waiting) == 1
    assert "did not answer" in waiting[0]["reason"]

    port = int(url.rsplit(":", 1)[1].strip("/"))
    radio, radio_api = start_vendor(tmp_path / "radio", port=port)
    try:
        post(running_agent, "/api/payments/notices/send", {})
        told = eventually(lambda: radio_api.get("/api/payments").json(), what="the notice")
        assert [t["amount"] for t in told] == ["5.00"]
    finally:
        radio_api.close()
        radio.stop()
