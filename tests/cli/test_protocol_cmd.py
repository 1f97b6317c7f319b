"""``vrm protocol schemas`` and ``vrm protocol inspect``, run as a user runs them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.commandline import run_vrm
from vrm.protocol import PING, Identity, Ping, compose, encrypt_for, sign_compact


def vrm(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_vrm(*args, stdin=stdin)


def test_schemas_written_for_envelope_discovery_and_every_type(tmp_path: Path) -> None:
    """Every body (intentcasting and records too), the envelope and discovery get a schema."""
    result = vrm("protocol", "schemas", str(tmp_path / "schemas"))
    assert result.returncode == 0, result.stderr
    names = {path.name for path in (tmp_path / "schemas").iterdir()}
    assert {
        "envelope.schema.json",
        "discovery.schema.json",
        "vrm_1_ping.schema.json",
        "vrm_1_ping.response.schema.json",
        "vrm_1_problem-report.schema.json",
        "vrm_1_data.export.schema.json",
        "vrm_1_intent.schema.json",
        "vrm_1_receipt.schema.json",
    } <= names
    envelope = json.loads((tmp_path / "schemas" / "envelope.schema.json").read_text())
    assert {"id", "type", "from", "to", "created_time", "expires_time", "body"} <= set(
        envelope["required"]
    )
    ping = json.loads((tmp_path / "schemas" / "vrm_1_ping.schema.json").read_text())
    assert ping["title"] == PING
    assert ping["additionalProperties"] is False


def test_inspect_valid_message_from_a_file(tmp_path: Path, alice: Identity) -> None:
    """A signed message in a file is decoded and its verdict is valid (exit 0)."""
    bob = Identity.generate()
    _, message = compose(alice, type=PING, to=bob.did, body=Ping(comment="hello"))
    path = tmp_path / "message.jws"
    path.write_text(message)
    result = vrm("protocol", "inspect", str(path), "--receiver", bob.did)
    assert result.returncode == 0, result.stderr
    assert "Verdict: valid" in result.stdout
    assert "hello" in result.stdout


def test_inspect_json_from_stdin_reports_tampering(alice: Identity) -> None:
    """A tampered message read from stdin is shown with its claims and refused (exit 1)."""
    bob = Identity.generate()
    _, message = compose(alice, type=PING, to=bob.did, body=Ping(comment="pay 10"))
    _, other = compose(alice, type=PING, to=bob.did, body=Ping(comment="pay 1000"))
    header, _, signature = message.split(".")
    tampered = f"{header}.{other.split('.')[1]}.{signature}"
    result = vrm("protocol", "inspect", "-", "--json", stdin=tampered)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["verdict"] == "bad_signature"
    assert report["envelope"]["body"] == {"comment": "pay 1000", "response_requested": True}


def test_inspect_wrong_receiver(alice: Identity) -> None:
    """Inspecting with --receiver names a message meant for someone else."""
    _, message = compose(alice, type=PING, to=Identity.generate().did, body=Ping())
    result = vrm("protocol", "inspect", "-", "--json", "--receiver", alice.did, stdin=message)
    assert json.loads(result.stdout)["verdict"] == "wrong_recipient"


def test_inspect_encrypted_shows_only_the_recipient(alice: Identity) -> None:
    """An encrypted message shows who it is for, and nothing of its content."""
    bob = Identity.generate()
    _, message = compose(alice, type=PING, to=bob.did, body=Ping(comment="secret"))
    result = vrm("protocol", "inspect", "-", "--json", stdin=encrypt_for(bob.did, message))
    report = json.loads(result.stdout)
    assert report == {"verdict": "encrypted", "recipient": bob.did}


def test_missing_file_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """A file that does not exist gives a one-line error and exit status 1."""
    result = vrm("protocol", "inspect", str(tmp_path / "nope.jws"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "nope.jws" in result.stderr


def test_garbage_input_is_reported_not_crashed_on() -> None:
    """Bytes that are not a message get a verdict of malformed, not a crash."""
    result = vrm("protocol", "inspect", "-", "--json", stdin="\x00\xffnot a message")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert json.loads(result.stdout)["verdict"] == "malformed"


def test_markup_in_a_message_is_shown_not_interpreted(alice: Identity) -> None:
    """Rich markup inside a message's fields is printed as text, not applied or crashed on."""
    bob = Identity.generate()
    _, message = compose(alice, type=PING, to=bob.did, body=Ping(comment="[/] [bold]x"))
    result = vrm("protocol", "inspect", "-", stdin=message)
    assert result.returncode == 0, result.stderr
    assert "[/] [bold]x" in result.stdout


def test_payload_that_is_not_an_object_is_shown(alice: Identity) -> None:
    """A signed payload that is a JSON array is shown and judged malformed."""
    result = vrm("protocol", "inspect", "-", stdin=sign_compact(b"[1, 2]", alice))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "Verdict: malformed" in result.stdout
