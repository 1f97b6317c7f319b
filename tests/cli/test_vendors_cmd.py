"""``vrm vendors``, ``vrm grants``, ``vrm deliveries`` and ``vrm config`` as a person types them."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.commandline import run_vrm
from tests.processes import ServiceProcess, fleet_customers, start_fleet
from vrm.agent.home import AgentHome
from vrm.agent.setup import init_agent
from vrm.vault import FAST_INSECURE_KDF

PASSPHRASE = "correct horse"


def vrm(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_vrm(*args, home=home, passphrase=PASSPHRASE)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    init_agent(AgentHome(tmp_path), PASSPHRASE, kdf=FAST_INSECURE_KDF)
    return tmp_path


@pytest.fixture(scope="module")
def shop() -> Iterator[ServiceProcess]:
    # manual: the vendor never answers, so the relationship stays "unknown" without an agent
    fleet = start_fleet(1, base="corner shop", policy="manual")
    yield fleet
    fleet.stop()


def test_loopback_vendors_are_refused_unless_allowed(home: Path, shop: ServiceProcess) -> None:
    refused = vrm(home, "vendors", "add", shop.url)
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1
    assert "loopback" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert json.loads(vrm(home, "vendors", "list", "--json").stdout) == []


def test_add_grant_list_and_end(home: Path, shop: ServiceProcess) -> None:
    assert vrm(home, "config", "set", "allow_loopback", "true").returncode == 0
    assert vrm(home, "profile", "set", "email.home", "ann@example.org").returncode == 0

    added = vrm(home, "vendors", "add", shop.url)
    assert added.returncode == 0, added.stderr
    assert "relationship requested" in added.stdout
    assert "sent 1 message" in added.stdout
    [vendor] = json.loads(vrm(home, "vendors", "list", "--json").stdout)
    assert (vendor["person_state"], vendor["vendor_state"]) == ("wants", "unknown")
    assert vendor["deliveries"] == {"delivered": 1}
    assert fleet_customers(shop)[vendor["our_did"]]["applied"]  # the request arrived

    again = vrm(home, "vendors", "add", shop.url)
    assert again.returncode == 1
    assert "already in a relationship" in again.stderr

    grant_args = ["email.home", "--purpose", "receipts", "--until", "2999-12-31"]
    granted = vrm(home, "grants", "add", "fleet vendor 0", *grant_args)
    assert granted.returncode == 0, granted.stderr
    assert "held" in granted.stdout  # the vendor has not accepted: nothing is sent yet
    [grant] = json.loads(vrm(home, "grants", "list", "--json").stdout)
    assert (grant["field"], grant["purpose"], grant["until"]) == (
        "email.home",
        "receipts",
        "2999-12-31",
    )
    assert fleet_customers(shop)[vendor["our_did"]]["fields"] == {}

    table = vrm(home, "vendors", "list")
    assert "wants" in table.stdout
    assert "unknown" in table.stdout

    ended = vrm(home, "vendors", "end", "1")
    assert ended.returncode == 0, ended.stderr
    [vendor] = json.loads(vrm(home, "vendors", "list", "--json").stdout)
    assert vendor["person_state"] == "ended"
    assert json.loads(vrm(home, "grants", "list", "--json").stdout)[0]["active"] is False
    assert fleet_customers(shop)[vendor["our_did"]]["person_state"] == "ended"
    deliveries = json.loads(vrm(home, "deliveries", "--json").stdout)
    assert [d["type"] for d in deliveries] == [
        "vrm/1/relationship.state",
        "vrm/1/relationship.request",
    ]
    assert {d["state"] for d in deliveries} == {"delivered"}
    audit = json.loads(vrm(home, "audit", "--json").stdout)
    kinds = [entry["kind"] for entry in audit]
    assert [kind for kind in kinds if kind.startswith(("relationship", "grant"))] == [
        "relationship.requested",
        "grant.added",
        "grant.revoked",
        "relationship.ended",
    ]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("vendors", "show", "nobody"), "no vendor called 'nobody'"),
        (("vendors", "pause", "7"), "no vendor 7"),
        (("grants", "add", "1", "email.home", "--purpose", "x", "--until", "soon"), "YYYY-MM-DD"),
        (("grants", "revoke", "1", "email.home"), "no vendor 1"),
        (("deliveries", "--retry", "5"), "no delivery 5"),
        (("deliveries", "--failed", "--pending"), "not both"),
        (("config", "set", "colour", "blue"), "no setting 'colour'"),
        (("config", "set", "delivery_max_age", "0"), "delivery_max_age"),
        (("vendors", "add", "ftp://shop.example"), "shop.example"),
    ],
)
def test_mistakes_are_one_line(home: Path, args: tuple[str, ...], expected: str) -> None:
    result = vrm(home, *args)
    assert result.returncode != 0
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_failed_delivery_is_shown_and_retried(home: Path, shop: ServiceProcess) -> None:
    assert vrm(home, "config", "set", "allow_loopback", "true").returncode == 0
    assert vrm(home, "vendors", "add", shop.url).returncode == 0
    # Loopback forbidden again: the next message is refused for good, before any network.
    assert vrm(home, "config", "set", "allow_loopback", "false").returncode == 0
    paused = vrm(home, "vendors", "pause", "1")
    assert paused.returncode == 0, paused.stderr
    assert "not delivered yet" in paused.stdout
    [failed] = json.loads(vrm(home, "deliveries", "--failed", "--json").stdout)
    assert failed["type"] == "vrm/1/relationship.state"
    assert "loopback" in failed["error"]
    assert "failed" in vrm(home, "deliveries").stdout

    assert vrm(home, "config", "set", "allow_loopback", "true").returncode == 0
    retried = vrm(home, "deliveries", "--retry", str(failed["id"]))
    assert retried.returncode == 0, retried.stderr
    assert "sent 1 message" in retried.stdout
    assert json.loads(vrm(home, "deliveries", "--failed", "--json").stdout) == []
    [vendor] = json.loads(vrm(home, "vendors", "list", "--json").stdout)
    assert fleet_customers(shop)[vendor["our_did"]]["person_state"] == "paused"
