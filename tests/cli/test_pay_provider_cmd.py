"""``vrm pay provider`` and ``vrm pay now`` through Stripe, as a person types them.

Stripe is the stand-in of ``tests/stubs/stripe_api.py``, in its own process.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.commandline import one_line_error, run_vrm
from tests.stubs.stripe_stub import BLOG, CUSTOMER, RADIO, SECRET_KEY, StripeStub, start_stripe_stub
from vrm.agent.home import AgentHome
from vrm.agent.setup import init_agent
from vrm.vault import FAST_INSECURE_KDF

PASSPHRASE = "correct horse"


def vrm(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_vrm(*args, home=home, passphrase=PASSPHRASE)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert SECRET_KEY not in result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def stripe() -> Iterator[StripeStub]:
    """The Stripe stand-in for the module."""
    running = start_stripe_stub()
    yield running
    running.service.stop()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A new agent allowed to reach this machine, with a key file beside it."""
    init_agent(AgentHome(tmp_path / "agent"), PASSPHRASE, kdf=FAST_INSECURE_KDF)
    ok(vrm(tmp_path / "agent", "config", "set", "allow_loopback", "true"))
    (tmp_path / "stripe.key").write_text(SECRET_KEY + "\n")
    return tmp_path / "agent"


def test_a_month_paid_through_stripe_from_the_command_line(home: Path, stripe: StripeStub) -> None:
    """Choose Stripe, give payees accounts, pay; a lost answer is retried, nobody paid twice."""
    stripe.reset()
    assert "ledger-only" in ok(vrm(home, "pay", "provider", "show"))
    chosen = ok(
        vrm(
            home,
            "pay",
            "provider",
            "stripe",
            "--customer",
            CUSTOMER,
            "--payment-method",
            "pm_card_visa",
            "--api-base",
            stripe.url,
            "--secret-key-file",
            str(home.parent / "stripe.key"),
        )
    )
    assert f"stripe (test mode at {stripe.url}): customer {CUSTOMER}" in chosen
    assert "secret key …4242" in chosen
    shown = json.loads(ok(vrm(home, "pay", "provider", "show", "--json")))
    assert shown["secret_key"] == {"set": True, "mode": "test", "ends_with": "4242"}

    ok(vrm(home, "pay", "budget", "10", "EUR"))
    ok(vrm(home, "pay", "payees", "add", "Radio Quincunx", "--weight", "1", "--account", RADIO))
    ok(vrm(home, "pay", "payees", "add", "Lark Blog", "--fixed", "3"))
    assert f"payee 2 (Lark Blog) is paid to {BLOG}" in ok(
        vrm(home, "pay", "payees", "account", "2", BLOG)
    )
    assert BLOG in ok(vrm(home, "pay", "payees", "list"))

    stripe.fail_next(status=500, after_commit=True)
    first = vrm(home, "pay", "now", "2026-03")
    assert first.returncode == 1
    assert "1 of 2 payments not paid; vrm pay now 2026-03 tries them again" in first.stderr
    assert len(stripe.charges()) == 2

    paid = ok(vrm(home, "pay", "now", "2026-03"))
    assert "2026-03: 2 of 2 paid, 10.00 EUR (stripe)" in paid
    charges = stripe.charges()
    assert len(charges) == 2
    ledger = json.loads(ok(vrm(home, "pay", "ledger", "2026-03", "--json")))
    assert {p["reference"] for p in ledger} == {c["intent"] for c in charges}

    assert SECRET_KEY not in ok(vrm(home, "audit", "--json"))
    assert "no money moves" in ok(vrm(home, "pay", "provider", "ledger-only"))
    assert "ledger-only" in ok(vrm(home, "pay", "provider", "show"))


def test_the_secret_key_can_come_from_the_environment(
    home: Path, stripe: StripeStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$VRM_STRIPE_SECRET_KEY stands for the key file; the key is kept for later changes."""
    monkeypatch.setenv("VRM_STRIPE_SECRET_KEY", SECRET_KEY)
    args = ("pay", "provider", "stripe", "--customer", CUSTOMER, "--api-base", stripe.url)
    ok(vrm(home, *args, "--payment-method", "pm_card_visa"))
    monkeypatch.delenv("VRM_STRIPE_SECRET_KEY")
    changed = ok(vrm(home, *args, "--payment-method", "pm_card_chargeDeclined"))
    assert "pays with pm_card_chargeDeclined, secret key …4242" in changed


def test_mistakes_are_one_line_and_never_show_a_key(home: Path, tmp_path: Path) -> None:
    """No key, a malformed key, a missing file, an http address: one line, the key unsaid."""
    stripe = ("pay", "provider", "stripe", "--customer", CUSTOMER, "--payment-method", "pm_x1")
    one_line_error(vrm(home, *stripe), "no Stripe secret key: give --secret-key-file FILE")
    wrong = tmp_path / "wrong.key"
    wrong.write_text("sk_prod_NotAStripeKeyShape77")
    said = one_line_error(
        vrm(home, *stripe, "--secret-key-file", str(wrong)), "starts with sk_test_ or sk_live_"
    )
    assert "NotAStripeKeyShape77" not in said
    one_line_error(vrm(home, *stripe, "--secret-key-file", str(tmp_path / "none.key")), "none.key")
    key = ("--secret-key-file", str(tmp_path / "stripe.key"))
    one_line_error(
        vrm(home, *stripe, *key, "--api-base", "http://stripe.example"), "reached over https"
    )
    one_line_error(vrm(home, "pay", "payees", "account", "7", BLOG), "no payee 7")
    one_line_error(
        vrm(home, "pay", "payees", "add", "X", "--weight", "1", "--account", "GB29NWBK6016"),
        "a payee's account is a Stripe connected account id",
    )
    assert "ledger-only" in ok(vrm(home, "pay", "provider", "show"))
