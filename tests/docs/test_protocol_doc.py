"""docs/protocol.md against the code: examples, verdicts, refusal codes, schemas, vectors."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from vrm.protocol import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_CLOCK_SKEW,
    Identity,
    ProtocolError,
    RefusalCode,
    Verifier,
    encrypt_for,
    v1_types,
)
from vrm.protocol.encoding import b64url_decode
from vrm.transport import Inbox
from vrm.transport.problems import STATUS_BY_CODE, TITLES

ROOT = Path(__file__).resolve().parents[2]
DOC_PATH = ROOT / "docs" / "protocol.md"
SCRIPT_PATH = ROOT / "docs" / "examples" / "protocol_examples.py"
VECTORS_PATH = ROOT / "tests" / "protocol" / "vectors" / "did_key_ed25519.json"

ALICE = Identity.from_seed(bytes(31) + b"\x01")
BOB = Identity.from_seed(bytes(31) + b"\x02")
RECEIVED_AT = 1767225660


def load_script() -> ModuleType:
    """Import docs/examples/protocol_examples.py from its path (docs/examples is no package)."""
    spec = importlib.util.spec_from_file_location("vrm_docs_protocol_examples", SCRIPT_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


script = load_script()
EXAMPLE_NAMES = list(script.examples())


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC_PATH.read_text(encoding="utf-8")


def verifier_for(receiver: Identity) -> Verifier:
    return Verifier(
        receiver=receiver.did, types=v1_types(), seen_ids=None, clock=lambda: RECEIVED_AT
    )


def verdict_of(receiver: Identity, token: str) -> str:
    try:
        verifier_for(receiver).verify(token)
    except ProtocolError as exc:
        return exc.code.value
    return "valid"


def example_section(doc: str, name: str) -> str:
    start = doc.index(f"### Example `{name}`:")
    end = doc.find("\n### ", start + 1)
    return doc[start : end if end != -1 else len(doc)]


def status_rows(doc: str) -> dict[str, tuple[int, str]]:
    rows = re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \| ([^|]+?) \|", doc, flags=re.MULTILINE)
    return {code: (int(status), title) for code, status, title in rows}


def test_examples_are_deterministic():
    """Building the examples twice gives the same bytes (Ed25519 is deterministic)."""
    assert script.examples() == script.examples()
    assert len(EXAMPLE_NAMES) >= 5


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_example_appears_verbatim(doc, name):
    """Each regenerated example message appears verbatim in the document."""
    assert script.examples()[name] in doc


def test_generated_section_is_current(doc):
    """The whole generated examples section, decoded headers and payloads included, is current."""
    assert script.markdown() in doc


def test_required_examples_are_present():
    """The examples include a ping, its response, a legacy EdDSA ping, a forgery, an impostor."""
    verdicts = script.expected_verdicts()
    assert verdicts["ping"] == "valid"
    assert verdicts["ping_legacy_eddsa"] == "valid"
    assert verdicts["forged_payload"] == RefusalCode.BAD_SIGNATURE
    assert verdicts["mallory_claims_alice"] == RefusalCode.SENDER_MISMATCH
    assert "ping_response" in verdicts


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_stated_verdict_is_what_bob_gives(doc, name):
    """The verdict the document states for an example is the one Bob's verifier gives."""
    match = re.search(r"^Verdict of Bob: `([a-z_]+)`$", example_section(doc, name), re.MULTILINE)
    assert match is not None, f"no verdict stated for {name}"
    assert verdict_of(BOB, script.examples()[name]) == match.group(1)


def test_ping_response_is_valid_for_its_addressee(doc):
    """The ping.response Bob refuses as wrong_recipient is valid for Alice, as the doc says."""
    token = script.examples()["ping_response"]
    assert verdict_of(ALICE, token) == "valid"
    assert "Alice, with the same clock, accepts it as `valid`" in example_section(
        doc, "ping_response"
    )


def test_ping_response_threads_to_the_ping():
    """The ping.response example's thid is the ping example's id."""
    response = verifier_for(ALICE).verify(script.examples()["ping_response"])
    ping = verifier_for(BOB).verify(script.examples()["ping"])
    assert response.envelope.thid == ping.id
    assert ping.header["alg"] == "Ed25519"


@pytest.mark.parametrize(
    "code", sorted({c.value for c in RefusalCode} | {str(c) for c in STATUS_BY_CODE})
)
def test_code_listed_with_its_status(doc, code):
    """Every refusal code and every HTTP binding code is in the table with its status and title."""
    rows = status_rows(doc)
    assert code in rows, f"{code} missing from the status table"
    assert rows[code] == (STATUS_BY_CODE[code], TITLES[code])


def test_status_table_lists_no_other_code(doc):
    """The status table has no row for a code the HTTP binding does not know."""
    assert set(status_rows(doc)) == {str(code) for code in STATUS_BY_CODE}


def test_every_refusal_code_has_an_http_status():
    """Every protocol refusal code is mapped to an HTTP status by the binding."""
    assert {c.value for c in RefusalCode} <= {str(c) for c in STATUS_BY_CODE}


def test_body_schemas_are_the_generated_ones(doc):
    """The JSON Schemas shown for the v1 bodies are exactly those the code generates."""
    for name, schema in v1_types().json_schemas().items():
        document = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
        document["title"] = name
        assert json.dumps(document, indent=2, sort_keys=True) in doc, name


def test_did_key_vectors_are_shown(doc):
    """Every did:key test vector (DID, keys, X25519 multibase) is in the document."""
    for vector in json.loads(VECTORS_PATH.read_text(encoding="utf-8"))["vectors"]:
        for member in ("did", "public_key_hex", "x25519_public_key_hex", "x25519_multibase"):
            assert vector[member] in doc


def test_limits_stated_are_the_defaults(doc):
    """The size limits and clock skew the document states are the code's defaults."""

    async def handler(message):
        """Never called."""

    inbox = Inbox(
        identity=BOB,
        verifier=Verifier(receiver=BOB.did, types=v1_types(), seen_ids=None),
        handler=handler,
    )
    flat = " ".join(doc.split())
    assert DEFAULT_MAX_BYTES == 262144
    assert DEFAULT_MAX_CLOCK_SKEW == 300
    assert "**262144 bytes (256 KiB)**" in doc
    assert "**300 s**" in doc
    assert f"({inbox.max_request_bytes} bytes with the default limit" in flat


def test_jwe_header_shown_is_what_encryption_produces(doc):
    """The decoded JWE header shown is the one encrypting the ping to Bob gives, but for epk.x."""
    section = doc[doc.index("### Example: an encrypted message") :]
    shown = json.loads(re.search(r"```json\n(.*?)\n```", section, re.DOTALL).group(1))
    jwe = encrypt_for(BOB.did, script.examples()["ping"])
    header = json.loads(b64url_decode(jwe.split(".")[0]))
    assert len(jwe.split(".")) == 5
    assert len(b64url_decode(header["epk"]["x"])) == 32
    header["epk"]["x"] = shown["epk"]["x"]
    assert header == shown
    assert BOB.key_agreement_kid == shown["kid"]
