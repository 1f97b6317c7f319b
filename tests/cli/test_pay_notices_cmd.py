"""``vrm pay now`` tells the paid payees; ``vrm pay notices`` and ``vrm pay retry`` as typed."""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from tests.agent.payments.providers import CountingProvider, refused
from tests.commandline import ok, run_vrm
from tests.e2e.test_agent_service import eventually
from tests.e2e.test_vendor_endpoint import start_vendor
from vrm.agent.home import AgentHome
from vrm.agent.payments.allocation import Weight
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.setup import init_agent, unlocked
from vrm.vault import FAST_INSECURE_KDF

PASSPHRASE = "correct horse"
pytestmark = pytest.mark.e2e


def vrm(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_vrm(*args, home=home, passphrase=PASSPHRASE)


def test_pay_now_tells_the_payee_with_the_terms(tmp_path: Path) -> None:
    """Paid from the command line, the station's endpoint holds the notice with both terms."""
    station, api = start_vendor(tmp_path / "station")
    try:
        home = tmp_path / "agent"
        init_agent(AgentHome(home), PASSPHRASE, kdf=FAST_INSECURE_KDF)
        with unlocked(AgentHome(home), PASSPHRASE) as opened:
            person = PersonalAgent(opened.engine, opened.sealer)
            person.set_config("allow_loopback", "true")
        ok(vrm(home, "pay", "budget", "9", "EUR"))
        ok(
            vrm(
                home,
                "pay",
                "payees",
                "add",
                "Radio Leith",
                "--weight",
                "1",
                "--endpoint",
                station.url,
                "--term",
                "no fund-drive calls",
                "--term",
                "no resale of my contact",
            )
        )
        paid = ok(vrm(home, "pay", "now", "2026-11"))
        assert "told 1 payee of their payment, with your terms" in paid
        [told] = eventually(lambda: api.get("/api/payments").json(), what="the notice")
        assert (told["amount"], told["terms"]) == (
            "9.00",
            ["no fund-drive calls", "no resale of my contact"],
        )
        listed = ok(vrm(home, "pay", "notices"))
        assert "Radio Leith" in listed
        assert "no fund-drive" in listed
        shown = json.loads(ok(vrm(home, "pay", "notices", "--json")))
        assert [notice["terms"] for notice in shown["sent"]] == [
            ["no fund-drive calls", "no resale of my contact"]
        ]
        assert shown["waiting"] == []
        assert "told" not in ok(vrm(home, "pay", "now", "2026-11"))  # once per payment
        assert len(api.get("/api/payments").json()) == 1
    finally:
        api.close()
        station.stop()


def test_retry_lets_a_refused_payment_through_at_the_next_pay(tmp_path: Path) -> None:
    """A final failure: retry says when it will be tried; an unknown number is one line."""
    init_agent(AgentHome(tmp_path), PASSPHRASE, kdf=FAST_INSECURE_KDF)
    with unlocked(AgentHome(tmp_path), PASSPHRASE) as opened:
        person = PersonalAgent(opened.engine, opened.sealer)
        person.set_budget("4", "EUR")
        radio = person.add_payee("Radio Leith", Weight(Decimal(1)))
        [failed] = person.pay("2026-11", CountingProvider(failures={radio.id: [refused()]}))
    said = ok(vrm(tmp_path, "pay", "retry", str(failed.id)))
    assert "Radio Leith's 4.00 EUR for 2026-11 will be tried again: vrm pay now 2026-11" in said
    assert "Radio Leith" in ok(vrm(tmp_path, "pay", "now", "2026-11"))
    missing = vrm(tmp_path, "pay", "retry", "99")
    assert missing.returncode == 1
    assert missing.stderr.count("\n") == 1
    assert "no payment 99" in missing.stderr
