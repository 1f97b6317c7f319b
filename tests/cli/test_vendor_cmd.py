"""``vrm vendor verify-membership`` at a till: the vendor's folder only, no endpoint running."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time
from pathlib import Path

import pytest

from tests.commandline import run_vrm
from tests.vendor.people import REPLY_TO
from vrm.protocol import (
    RELATIONSHIP_REQUEST,
    Identity,
    Verifier,
    compose,
    present_membership,
    relationship_types,
)
from vrm.vendor.config import settings_from
from vrm.vendor.endpoint import VendorEndpoint
from vrm.vendor.memberships import MembershipRequest


@pytest.fixture(scope="module")
def till(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Identity, str]:
    """A stopped endpoint's folder that issued a gold membership; the member and credential."""
    folder = tmp_path_factory.mktemp("grocer")
    person = Identity.generate()

    async def issue() -> str:
        settings = settings_from({"name": "Corner Grocer"})
        endpoint = VendorEndpoint.open(settings, home=folder)
        try:
            _, token = compose(
                person,
                type=RELATIONSHIP_REQUEST,
                to=endpoint.identity.did,
                body={"reply_to": REPLY_TO},
            )
            verifier = Verifier(
                receiver=endpoint.identity.did, types=relationship_types(), seen_ids=None
            )
            endpoint.records.receive(verifier.verify(token))
            issued = endpoint.memberships.issue(
                person.did, MembershipRequest(tier="gold", valid_until=dt.date(2099, 12, 31))
            )
            return str(issued["credential"])
        finally:
            await endpoint.aclose()

    return folder, person, asyncio.run(issue())


def shown(till: tuple[Path, Identity, str]) -> str:
    folder, person, credential = till
    vendor = Identity.from_seed((folder / "identity.seed").read_bytes())
    return present_membership(credential, person, audience=vendor.did, now=time.time()).text


def test_a_code_is_valid_once_then_replayed(till: tuple[Path, Identity, str]) -> None:
    """One line: valid and the tier; the same code again: refused, replayed, exit 1."""
    folder = till[0]
    database = (folder / "vendor.db").read_bytes()
    code = shown(till)
    first = run_vrm("vendor", "verify-membership", code, "--home", str(folder))
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("\n") == 1
    assert first.stdout.startswith("valid: gold — Corner Grocer membership, member since ")
    assert "through 2099-12-31" in first.stdout
    again = run_vrm("vendor", "verify-membership", code, "--home", str(folder))
    assert again.returncode == 1
    assert again.stdout == "refused: replayed — this code was shown before\n"
    assert hashlib.sha256((folder / "vendor.db").read_bytes()).digest() == (
        hashlib.sha256(database).digest()
    )


def test_a_scanner_typing_the_code_on_standard_input(till: tuple[Path, Identity, str]) -> None:
    """No argument: the code is read from the scanner's line on standard input; JSON asked."""
    folder = till[0]
    result = run_vrm(
        "vendor", "verify-membership", "--home", str(folder), "--json", stdin=shown(till) + "\n"
    )
    assert result.returncode == 0, result.stderr
    assert '"tier": "gold"' in result.stdout


def test_a_tampered_code_is_refused_with_its_reason(till: tuple[Path, Identity, str]) -> None:
    """A changed character: refused, tampered, exit 1."""
    code = shown(till)
    tampered = code[:80] + ("A" if code[80] != "A" else "B") + code[81:]
    result = run_vrm("vendor", "verify-membership", tampered, "--home", str(till[0]))
    assert result.returncode == 1
    assert result.stdout.startswith("refused: tampered — ")


def test_a_folder_without_a_vendor_is_one_line(tmp_path: Path) -> None:
    """No key in the folder, or no folder named at all: a one-line error, no traceback."""
    for args in (("--home", str(tmp_path)), ()):
        result = run_vrm("vendor", "verify-membership", "VRM1.x~y", *args)
        assert result.returncode == 1
        assert result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "identity.seed").exists()
