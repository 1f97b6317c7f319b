"""``vrm pay`` as a person types it: budget, payees, uses, preview, pay now, the ledger."""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from tests.commandline import ok, one_line_error, run_vrm
from vrm.agent.home import AgentHome
from vrm.agent.payments.allocation import PerUse, Weight
from vrm.agent.payments.providers import LedgerOnlyProvider
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.setup import init_agent, unlocked
from vrm.vault import FAST_INSECURE_KDF

PASSPHRASE = "correct horse"


def vrm(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_vrm(*args, home=home, passphrase=PASSPHRASE)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An agent paying Radio Quincunx per hour and Lark Blog by weight; March is paid."""
    folder = tmp_path_factory.mktemp("pay")
    init_agent(AgentHome(folder), PASSPHRASE, kdf=FAST_INSECURE_KDF)
    with unlocked(AgentHome(folder), PASSPHRASE) as opened:
        person = PersonalAgent(opened.engine, opened.sealer)
        person.set_budget("10", "EUR")
        radio = person.add_payee("Radio Quincunx", PerUse(Decimal(1), "hour"))
        person.add_payee("Lark Blog", Weight(Decimal(1)))
        person.log_use(radio.id, "2", month="2026-03")
        person.pay("2026-03", LedgerOnlyProvider())
    return folder


def test_a_month_from_budget_to_ledger(tmp_path: Path) -> None:
    """Set the budget, add three payees, log hours, preview, pay, pay again, read the ledger."""
    home = tmp_path
    init_agent(AgentHome(home), PASSPHRASE, kdf=FAST_INSECURE_KDF)
    assert "No budget yet" in ok(vrm(home, "pay", "budget"))
    assert "budget: 15.00 EUR a month" in ok(vrm(home, "pay", "budget", "15", "eur"))
    assert "payee 1: Radio Quincunx, 0.50 EUR per hour" in ok(
        vrm(
            home,
            "pay",
            "payees",
            "add",
            "Radio Quincunx",
            "--per-use",
            "0.50",
            "--unit",
            "hour",
            "--endpoint",
            "https://quincunx.example/vrm",
            "--term",
            "no fund-drive calls",
            "--term",
            "no resale of my contact",
        )
    )
    ok(vrm(home, "pay", "payees", "add", "Lark Blog", "--weight", "2"))
    ok(vrm(home, "pay", "payees", "add", "Fen Zine", "--fixed", "4"))
    listed = ok(vrm(home, "pay", "payees", "list"))
    assert "Radio" in listed
    assert "fixed 4 EUR" in listed
    [radio, *_] = json.loads(ok(vrm(home, "pay", "payees", "list", "--json")))
    assert radio["terms"] == ["no fund-drive calls", "no resale of my contact"]

    logged = ok(vrm(home, "pay", "use", "radio quincunx", "3", "--month", "2026-03"))
    assert "logged 3 hours of Radio Quincunx for 2026-03 (3 in all)" in logged
    ok(vrm(home, "pay", "use", "1", "1.5", "--month", "2026-03", "--note", "jazz"))

    preview = ok(vrm(home, "pay", "preview", "2026-03"))
    assert "2026-03: 15.00 EUR of 15.00 EUR" in preview
    shown = json.loads(ok(vrm(home, "pay", "preview", "2026-03", "--json")))
    assert [line["amount"] for line in shown["lines"]] == ["2.25", "8.75", "4.00"]

    paid = ok(vrm(home, "pay", "now", "2026-03"))
    assert paid.count(" paid ") == 3
    again = json.loads(ok(vrm(home, "pay", "now", "2026-03", "--json")))
    assert [(p["state"], p["attempts"]) for p in again] == [("paid", 1)] * 3

    ledger = json.loads(ok(vrm(home, "pay", "ledger", "2026-03", "--json")))
    assert [(p["payee_name"], p["amount"]) for p in ledger] == [
        ("Radio Quincunx", "2.25"),
        ("Lark Blog", "8.75"),
        ("Fen Zine", "4.00"),
    ]
    assert "Fen Zine" in ok(vrm(home, "pay", "ledger"))
    assert "is planned already" in ok(vrm(home, "pay", "preview", "2026-03"))

    assert "removed payee 3: Fen Zine" in ok(vrm(home, "pay", "payees", "remove", "3"))
    assert "Fen Zine" not in ok(vrm(home, "pay", "payees", "list"))
    audit = json.loads(ok(vrm(home, "audit", "--json")))
    kinds = [entry["kind"] for entry in audit]
    assert kinds.count("payment.paid") == 3
    assert "payments.planned" in kinds


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("pay", "budget", "20"), "give both the amount and the currency"),
        (("pay", "budget", "20", "EURO"), "not an ISO 4217 currency code"),
        (("pay", "budget", "20.001", "EUR"), "more decimals than EUR"),
        (("pay", "payees", "add", "X"), "give exactly one of --fixed"),
        (("pay", "payees", "add", "X", "--weight", "1", "--fixed", "2"), "exactly one"),
        (("pay", "payees", "add", "X", "--per-use", "1"), "--per-use needs --unit"),
        (("pay", "payees", "add", "X", "--weight", "-1"), "digits with an optional"),
        (("pay", "payees", "add", "Lark Blog", "--weight", "1"), "already is a payee"),
        (("pay", "payees", "remove", "42"), "no payee 42"),
        (("pay", "use", "nobody", "1"), "no payee 'nobody'"),
        (("pay", "use", "Lark Blog", "1"), "is not paid per use"),
        (("pay", "use", "1", "2", "--month", "2026-03"), "2026-03 is paid already"),
        (("pay", "preview", "March"), "a month is written YYYY-MM"),
    ],
)
def test_mistakes_are_one_line(home: Path, args: tuple[str, ...], expected: str) -> None:
    """Each wrong input is one line on standard error, no traceback."""
    one_line_error(vrm(home, *args), expected)


def test_a_month_without_payees_or_budget_is_one_line(tmp_path: Path) -> None:
    """Paying before a budget and before payees says what is missing."""
    init_agent(AgentHome(tmp_path), PASSPHRASE, kdf=FAST_INSECURE_KDF)
    one_line_error(vrm(tmp_path, "pay", "now"), "no budget yet")
    ok(vrm(tmp_path, "pay", "budget", "10", "EUR"))
    one_line_error(vrm(tmp_path, "pay", "now"), "no payees to share the budget among")
    assert "No payments yet" in ok(vrm(tmp_path, "pay", "ledger"))
