"""``vrm loyalty`` as a person types it: memberships listed, shown, and a QR code to show."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.agent.loyalty.cards import credential, give, revoke
from tests.agent.vendors import Clock, VendorNetwork, connect
from tests.cli.homes import filled_home
from tests.commandline import run_vrm
from vrm.agent.personal_agent import PersonalAgent
from vrm.protocol import CredentialStanding, MemorySeenIds, verify_membership

PASSPHRASE = "correct horse"


def vrm(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_vrm(*args, home=home, passphrase=PASSPHRASE)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """An agent holding Corner Grocer's gold membership and a revoked one; the grocer's DID."""
    folder = tmp_path_factory.mktemp("loyalty")

    async def fill(person: PersonalAgent, network: VendorNetwork, clock: Clock) -> str:
        grocer, relationship = await connect(person, network, "Corner Grocer", clock=clock)
        old = credential(grocer, relationship, clock=clock, tier="wine")
        give(person, grocer, relationship, old, clock=clock)
        revoke(person, grocer, relationship, old.credential.id, clock=clock, reason="closed")
        clock.advance(1)
        gold = credential(grocer, relationship, clock=clock)
        give(person, grocer, relationship, gold, clock=clock)
        return grocer.did

    return folder, filled_home(folder, PASSPHRASE, fill)


def test_list_and_show(home: tuple[Path, str]) -> None:
    """The list as a table and as JSON; one membership in words."""
    folder, _ = home
    listed = json.loads(vrm(folder, "loyalty", "list", "--json").stdout)
    assert [(m["tier"], m["state"]) for m in listed] == [("gold", "active"), ("wine", "revoked")]
    table = vrm(folder, "loyalty", "list")
    assert table.returncode == 0, table.stderr
    assert "gold" in table.stdout
    assert "revoked" in table.stdout

    gold = vrm(folder, "loyalty", "show", str(listed[0]["id"]))
    assert gold.returncode == 0, gold.stderr
    assert "gold of Corner Grocer Club, Corner Grocer" in gold.stdout
    assert "member number: M-0042" in gold.stdout
    assert "• 10% off fresh bread" in gold.stdout
    wine = vrm(folder, "loyalty", "show", str(listed[1]["id"]))
    assert "revoked by the vendor on" in wine.stdout
    assert ": closed" in wine.stdout


def test_qr_prints_a_code_the_vendor_accepts(home: tuple[Path, str]) -> None:
    """A QR code in block characters, then the text a checkout verifies; it is logged."""
    folder, grocer = home
    listed = json.loads(vrm(folder, "loyalty", "list", "--json").stdout)
    shown = vrm(folder, "loyalty", "qr", str(listed[0]["id"]))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert "█" in lines[0]
    assert "valid until" in lines[-2]
    checked = verify_membership(
        lines[-1],
        verifier=grocer,
        now=time.time(),
        standing=lambda _id, _digest: CredentialStanding.GOOD,
        seen=MemorySeenIds(),
    )
    assert checked.credential.credentialSubject.tier == "gold"
    as_json = json.loads(vrm(folder, "loyalty", "qr", str(listed[0]["id"]), "--json").stdout)
    assert as_json["presentation"].startswith("VRM1.")
    logged = json.loads(vrm(folder, "audit", "--json").stdout)
    assert [e["details"]["to"] for e in logged if e["kind"] == "membership.presented"] == [
        "cli",
        "cli",
    ]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("loyalty", "show", "99"), "no membership 99"),
        (("loyalty", "qr", "99"), "no membership 99"),
        (("loyalty", "qr", "1"), "is revoked: there is nothing to show"),
    ],
)
def test_mistakes_are_one_line(
    home: tuple[Path, str], args: tuple[str, ...], expected: str
) -> None:
    """An unknown membership, or a revoked one to show: one line each."""
    result = vrm(home[0], *args)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
