"""docs/protocol.md against the code: examples, verdicts, codes, schemas, members, vectors.

The intentcasting part (7.8, 9.7) is also checked against the exchange itself: its matching,
its limits and the problem it answers when rate limited; the records part (7.9) against the
reference vendor's receipt for an accepted offer.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import inspect
import json
import re
import sys
import types
import typing
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from vrm.agent.intents.desk import terms_of
from vrm.agent.outbox.store import DEFAULT_MAX_AGE, message_lifetime
from vrm.exchange.api import MAX_FETCH_BYTES, MAX_OFFER_BYTES, MAX_WAIT_SECONDS, create_exchange_app
from vrm.exchange.market import MAX_INTENT_LIFETIME, MAX_MAILBOX, Market
from vrm.exchange.service import Exchange, ExchangeSettings
from vrm.intents.taxonomy import taxonomy
from vrm.protocol import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_CLOCK_SKEW,
    PERSON_STATES,
    VENDOR_STATES,
    AgreementAnswer,
    Identity,
    MessageTypes,
    ProtocolError,
    Receipt,
    RefusalCode,
    Verifier,
    compose,
    encrypt_for,
    health_types,
    membership_types,
    payment_types,
    record_types,
    relationship_types,
    review_types,
    v1_types,
)
from vrm.protocol.encoding import b64url_decode
from vrm.protocol.v1.intents import (
    EXCHANGE_SUBSCRIBE,
    INTENT,
    MAILBOX_FETCH,
    Fetch,
    Intent,
    OfferBody,
    intent_types,
)
from vrm.protocol.v1.records import RECEIPT
from vrm.terms import Agreement, Proffer, Statement, Term, Terms, accept, library, proffer
from vrm.transport import Inbox
from vrm.transport.problems import STATUS_BY_CODE, TITLES
from vrm.vendor.receipts import offer_receipt

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
RELATIONSHIP_EXAMPLE_NAMES = list(script.relationship_examples())


def all_types() -> MessageTypes:
    """Every type the document specifies: of relationships, intentcasting and records."""
    types = relationship_types()
    types.update(intent_types())
    types.update(record_types())
    types.update(health_types())
    types.update(membership_types())
    types.update(payment_types())
    types.update(review_types())
    return types


ALL_TYPES = all_types()
SCHEMA_DRAFT = "https://json-schema.org/draft/2020-12/schema"
OBJECTS: dict[str, type[BaseModel]] = {
    model.__name__: model for model in (Terms, Term, Statement, Proffer, Agreement)
}
"""The objects of agreements (§7.6.1): one member table each, named by the members holding one."""
SHARED = set(OBJECTS.values())


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC_PATH.read_text(encoding="utf-8")


def verifier_for(receiver: Identity, registry: MessageTypes | None = None) -> Verifier:
    return Verifier(
        receiver=receiver.did,
        types=v1_types() if registry is None else registry,
        seen_ids=None,
        clock=lambda: RECEIVED_AT,
    )


def verdict_of(receiver: Identity, token: str, registry: MessageTypes | None = None) -> str:
    try:
        verifier_for(receiver, registry).verify(token)
    except ProtocolError as exc:
        return exc.code.value
    return "valid"


def generated_schema(type_name: str) -> str:
    """The JSON Schema document of a body as the document shows it."""
    document = {"$schema": SCHEMA_DRAFT, **ALL_TYPES.json_schemas()[type_name]}
    document["title"] = type_name
    return json.dumps(document, indent=2, sort_keys=True)


def schema_blocks(doc: str) -> dict[str, list[str]]:
    """The JSON blocks under each ``#### `vrm/...` `` heading, by type name."""
    blocks: dict[str, list[str]] = {}
    for name, block in re.findall(
        r"^#### `(vrm/[^`]+)`\n\n```json\n(.*?)\n```$", doc, flags=re.MULTILINE | re.DOTALL
    ):
        blocks.setdefault(name, []).append(block)
    return blocks


MEMBER_ROW = re.compile(
    r"^\| *(?:`(vrm/[^`]+|[A-Z][A-Za-z]+)`)? *\| `([^`]+)` \| ([^|]+?) \| ([^|]+?) \| (.+) \|$",
    re.MULTILINE,
)


def member_rows(doc: str) -> list[tuple[str, str, str, str, str]]:
    """Every row of the member tables: (type or object, member, JSON type, required, constraints).

    A row with an empty first cell belongs to the type (or object of §7.6.1) of the row above.
    """
    rows = []
    current = ""
    for type_name, member, json_type, required, constraints in MEMBER_ROW.findall(doc):
        current = type_name or current
        rows.append((current, member, json_type, required, constraints))
    return rows


def model_members(model: type[BaseModel], prefix: str = "") -> dict[str, bool]:
    """Every member of a body model, nested ones as ``a.b`` and ``a[].b``: is it required?

    The members of a nested object of ``OBJECTS`` are not listed: its own table has them.
    """
    members = {}
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        members[key] = field.is_required()
        nested, suffix = _nested_model(field.annotation)
        if nested is not None and nested not in SHARED:
            members.update(model_members(nested, key + suffix + "."))
    return members


def _nested_model(annotation: Any) -> tuple[type[BaseModel] | None, str]:
    origin = typing.get_origin(annotation)
    if origin is list:
        item, _ = _nested_model(typing.get_args(annotation)[0])
        return item, "[]"
    if origin in (typing.Union, types.UnionType):
        for alternative in typing.get_args(annotation):
            found = _nested_model(alternative)
            if found[0] is not None:
                return found
        return None, ""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, ""
    return None, ""


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[1]]
    return node


def _alternatives(node: dict[str, Any], defs: dict[str, Any]) -> list[dict[str, Any]]:
    """The non-null schemas a member may match (``X | None`` is X, and null means absent)."""
    node = _resolve(node, defs)
    options = [_resolve(option, defs) for option in node.get("anyOf", [node])]
    return [option for option in options if option.get("type") != "null"]


def _shared(node: dict[str, Any]) -> str | None:
    """The name of the object of ``OBJECTS`` a (resolved) schema node is, if it is one."""
    title = node.get("title")
    return title if node.get("type") == "object" and title in OBJECTS else None


def schema_members(
    schema: dict[str, Any], defs: dict[str, Any], prefix: str = ""
) -> dict[str, dict[str, Any]]:
    """Every member of a body schema, nested ones named as in ``model_members``."""
    members = {}
    for name, node in schema.get("properties", {}).items():
        members[prefix + name] = node
        for option in _alternatives(node, defs):
            if option.get("type") == "object" and not _shared(option):
                members.update(schema_members(option, defs, f"{prefix}{name}."))
            elif option.get("type") == "array":
                item = _resolve(option["items"], defs)
                if item.get("type") == "object" and not _shared(item):
                    members.update(schema_members(item, defs, f"{prefix}{name}[]."))
    return members


def _json_type(option: dict[str, Any], defs: dict[str, Any]) -> str:
    if "type" not in option:
        return "any JSON"
    if option["type"] == "array":
        return f"array of {_json_type(_resolve(option['items'], defs), defs)}s"
    return str(option["type"])


def json_type_of(node: dict[str, Any], defs: dict[str, Any]) -> str:
    """The JSON type a member table states for a member: string, array of objects, any JSON…"""
    kinds = {_json_type(option, defs) for option in _alternatives(node, defs)}
    assert len(kinds) == 1, kinds
    return kinds.pop()


def constraints_of(node: dict[str, Any], defs: dict[str, Any]) -> list[str]:
    """The texts a member's constraints cell must contain: its patterns, bounds and values.

    A member holding an object of ``OBJECTS`` (or an array of them) names that object.
    """
    options = _alternatives(node, defs)
    texts = []
    for option in options:
        if _shared(option):
            texts.append(f"`{_shared(option)}`")
        if "pattern" in option:
            texts.append(f"`{option['pattern']}`")
        if "const" in option:
            texts.append(f"`{option['const']}`")
        if "maxLength" in option:
            texts.append(f"at most {option['maxLength']} characters")
        if "minimum" in option:
            texts.append(f"≥ {option['minimum']}")
        if "minItems" in option and "maxItems" in option:
            texts.append(f"{option['minItems']}\N{EN DASH}{option['maxItems']}")
        elif "maxItems" in option:
            texts.append(f"at most {option['maxItems']} items")
        elif "minItems" in option:
            texts.append(f"at least {option['minItems']} items")
        if "maxProperties" in option:
            texts.append(f"at most {option['maxProperties']} members")
        if option.get("type") == "array":
            item = _resolve(option["items"], defs)
            if _shared(item):
                texts.append(f"`{_shared(item)}`")
            elif item.get("type") != "object":  # object items have rows of their own
                texts += constraints_of(item, defs)
        if "enum" in option and len(options) == 1:  # an enum beside free text is not listed
            texts += [f"`{value}`" for value in option["enum"]]
    return texts


def example_section(doc: str, name: str) -> str:
    start = doc.index(f"### Example `{name}`:")
    end = doc.find("\n### ", start + 1)
    return doc[start : end if end != -1 else len(doc)]


EXCHANGE_CODES = {"rate_limited"}
"""Codes only the exchange's routes answer (9.7): not in the shared mapping, so checked by
making the exchange answer them (``test_exchange_code_listed_as_the_exchange_answers``)."""


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
    """The status table has no row for a code neither the HTTP binding nor the exchange knows."""
    assert set(status_rows(doc)) == {str(code) for code in STATUS_BY_CODE} | EXCHANGE_CODES


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


def test_schema_blocks_are_the_generated_ones(doc):
    """Every type has exactly one schema block, under its own heading, exactly as generated."""
    blocks = schema_blocks(doc)
    assert set(blocks) == set(ALL_TYPES)
    for name, shown in blocks.items():
        assert shown == [generated_schema(name)], name


SCHEMA_SECTIONS = {
    "### 7.5 ": ["relationship.request", "relationship.state", "profile.update", "profile.revoke"],
    "### 7.6 ": ["agreement.proffer", "agreement.answer"],
    "### 7.7 ": ["data.request", "data.export", "data.erased"],
    "### 7.8 ": [
        "exchange.subscribe",
        "intent",
        "intent.match",
        "intents.fetch",
        "offer",
        "mailbox.fetch",
        "offer.decline",
        "offer.accept",
        "intent.withdraw",
    ],
    "### 7.9 ": ["receipt"],
    "### 7.10 ": ["health.presentation", "health.withdraw", "health.deleted"],
    "### 7.11 ": ["review", "review.withdraw"],
    "### 7.12 ": ["membership", "membership.revoke"],
    "### 7.13 ": ["payment.notice", "payment.receipt"],
}


def section(doc: str, heading: str) -> str:
    """The text of the section starting at ``heading``, up to the next heading of its level."""
    start = doc.index(f"\n{heading}")
    level = heading.split(" ")[0]
    end = doc.find(f"\n{level} ", start + 1)
    return doc[start : end if end != -1 else len(doc)]


def test_relationship_schemas_are_the_generated_ones(doc):
    """The JSON Schemas of every body but those of 7.2 are in their sections (7.5 to 7.9).

    Each is exactly what the code generates.
    """
    relationship_only = set(ALL_TYPES) - set(v1_types())
    listed = {f"vrm/1/{name}" for names in SCHEMA_SECTIONS.values() for name in names}
    assert relationship_only == listed
    for heading, names in SCHEMA_SECTIONS.items():
        text = section(doc, heading)
        for name in names:
            assert generated_schema(f"vrm/1/{name}") in text, name


def members_shown(doc: str, owner: str) -> list[str]:
    """The members the table rows of a type (or object) list, in order."""
    return [row[1] for row in member_rows(doc) if row[0] == owner]


def check_member_table(doc: str, owner: str, model: type[BaseModel]) -> None:
    """Each row of ``owner`` states its member's JSON type, whether it is required, its bounds."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    nodes = schema_members(schema, defs)
    required = model_members(model)
    assert set(nodes) == set(required)
    for _, member, json_type, stated_required, escaped in (
        row for row in member_rows(doc) if row[0] == owner
    ):
        constraints = escaped.replace("\\|", "|")  # a table cell escapes the pipes it holds
        assert json_type == json_type_of(nodes[member], defs), member
        assert stated_required.split(" ")[0] == ("yes" if required[member] else "no"), member
        for text in constraints_of(nodes[member], defs):
            assert text in constraints, f"{owner} {member}: {text} not stated"


@pytest.mark.parametrize("type_name", list(ALL_TYPES))
def test_member_table_lists_every_member(doc, type_name):
    """The member table of a body lists exactly its model's members, nested ones included.

    The members of an object of §7.6.1 are in that object's table (the next test).
    """
    model = ALL_TYPES.model_for(type_name)
    assert model is not None
    shown = members_shown(doc, type_name)
    assert len(shown) == len(set(shown)), f"a member of {type_name} is listed twice"
    assert set(shown) == set(model_members(model)), type_name


@pytest.mark.parametrize("name", list(OBJECTS))
def test_object_table_lists_every_member(doc, name):
    """The table of an object of agreements lists exactly its model's members, nested included."""
    shown = members_shown(doc, name)
    assert len(shown) == len(set(shown)), f"a member of {name} is listed twice"
    assert set(shown) == set(model_members(OBJECTS[name])), name


@pytest.mark.parametrize("type_name", list(ALL_TYPES))
def test_member_table_states_types_and_constraints(doc, type_name):
    """Each member row states the member's JSON type, whether it is required, and its bounds."""
    model = ALL_TYPES.model_for(type_name)
    assert model is not None
    check_member_table(doc, type_name, model)


@pytest.mark.parametrize("name", list(OBJECTS))
def test_object_table_states_types_and_constraints(doc, name):
    """Each row of an object's table states the JSON type, whether it is required, the bounds."""
    check_member_table(doc, name, OBJECTS[name])


def test_every_object_is_used_by_a_type():
    """Each object with a table of its own is held by a member of some registered type."""
    held = set()
    for type_name in ALL_TYPES:
        model = ALL_TYPES.model_for(type_name)
        assert model is not None
        held |= set(model.model_json_schema().get("$defs", {}))
    assert set(OBJECTS) <= held


def test_member_tables_name_only_known_types(doc):
    """No member table row belongs to a type the code does not register, or an unknown object."""
    assert {row[0] for row in member_rows(doc)} == set(ALL_TYPES) | set(OBJECTS)


def test_r_buttons_are_the_code_states(doc):
    """The states each side sends, as the r-button table lists them, are the code's."""
    rows = dict(re.findall(r"^\| (person|vendor) \| ([^|]+) \|", doc, flags=re.MULTILINE))
    assert set(re.findall(r"`([a-z]+)`", rows["person"])) == {s.value for s in PERSON_STATES}
    assert set(re.findall(r"`([a-z]+)`", rows["vendor"])) == {s.value for s in VENDOR_STATES}


def test_outbox_lifetime_stated_is_the_default(doc):
    """The lifetime of outbox messages the document states is what the agent signs with."""
    lifetime = message_lifetime(DEFAULT_MAX_AGE)
    assert lifetime == script.OUTBOX_LIFETIME == 262800
    assert f"**{lifetime} s**" in doc
    assert message_lifetime(10**9) == 2592000


def test_relationship_examples_are_deterministic():
    """Building the relationship examples twice gives the same bytes."""
    assert script.relationship_examples() == script.relationship_examples()
    assert set(RELATIONSHIP_EXAMPLE_NAMES) >= {"relationship_request", "profile_update"}


@pytest.mark.parametrize("name", RELATIONSHIP_EXAMPLE_NAMES)
def test_relationship_example_appears_verbatim(doc, name):
    """Each regenerated relationship example appears verbatim in the document."""
    assert script.relationship_examples()[name] in doc


def test_generated_relationship_section_is_current(doc):
    """The whole generated relationship examples part, decoded payloads included, is current."""
    assert script.relationship_markdown() in doc


@pytest.mark.parametrize("name", RELATIONSHIP_EXAMPLE_NAMES)
def test_relationship_example_verdict_is_what_the_recipient_gives(doc, name):
    """The verdict stated for a relationship example is the one its recipient gives."""
    start = doc.index(f"#### Example `{name}`:")
    end = doc.find("\n#### ", start + 1)
    section = doc[start : end if end != -1 else len(doc)]
    match = re.search(r"^Verdict of ([A-Z][a-z]+): `([a-z_]+)`$", section, re.MULTILINE)
    assert match is not None, f"no verdict stated for {name}"
    receiver = script.IDENTITIES[match.group(1)]
    token = script.relationship_examples()[name]
    assert verdict_of(receiver, token, relationship_types()) == match.group(2)
    assert verdict_of(receiver, token) == RefusalCode.UNKNOWN_TYPE.value  # v1 types alone


def test_relationship_answer_threads_to_the_request():
    """The vendor's answer is addressed to the request's sender and its thid is the request's id."""
    examples = script.relationship_examples()
    request = verifier_for(BOB, relationship_types()).verify(examples["relationship_request"])
    answer = verifier_for(ALICE, relationship_types()).verify(examples["relationship_accepted"])
    assert answer.envelope.thid == request.id
    assert answer.envelope.to == request.sender
    assert request.envelope.expires_time - request.envelope.created_time == (
        message_lifetime(DEFAULT_MAX_AGE)
    )


def example_agreement() -> Agreement:
    """The agreement of §7.6.5: Alice proffers SD-BASE and two terms, Bob accepts a minute later."""
    terms = Terms(
        agreement=library().agreement("SD-BASE"),
        additional=(library().term("NoStalking"), library().term("delete-on-end")),
    )
    offer = proffer(
        terms, ALICE, person=ALICE.did, vendor=BOB.did, proffered_by="person", now=1767225600
    )
    return accept(offer, BOB, now=1767225660)


def test_agreement_example_is_what_signing_gives(doc):
    """The hash, payloads, headers and detached signatures of §7.6.5 are what the code computes."""
    agreement = example_agreement()
    agreement.verify()
    statement = agreement.statement
    canonical = agreement.terms.canonical().decode()
    text = section(doc, "#### 7.6.5 ")
    for party in ("person", "vendor"):
        token = agreement.signatures[party]
        assert f"```text\n{token}\n```" in text, party
        header = b64url_decode(token.split(".")[0]).decode()
        assert f"```json\n{header}\n```\n\nis\n\n```text\n{token}\n```" in text, party
    assert f"JCS of the terms is {len(canonical)} bytes" in text
    beginning = re.search(r"```text\n(.+)…\n```", text)
    assert beginning is not None
    assert beginning.group(1) == canonical[:120]
    assert f"`{statement.terms_sha256}`" in text
    assert f"```text\n{statement.proffer_payload().decode()}\n```" in text
    acceptance = statement.acceptance_payload(agreement.accepted_time)
    assert f"```text\n{acceptance.decode()}\n```" in text
    assert f"`{hashlib.sha256(acceptance).hexdigest()}`" in text


def test_agreement_example_answer_is_the_vendors(doc):
    """The agreement.answer body of §7.6.5 is valid and carries Bob's signature and time."""
    agreement = example_agreement()
    blocks = re.findall(r"```json\n(.*?)\n```", section(doc, "#### 7.6.5 "), re.DOTALL)
    shown = [json.loads(block) for block in blocks if block.startswith("{\n")]
    assert len(shown) == 2
    answer = AgreementAnswer.model_validate(shown[0])
    assert answer.answer == "accepted"
    assert answer.terms_sha256 == agreement.statement.terms_sha256
    assert (answer.accepted_time, answer.signature) == (
        agreement.accepted_time,
        agreement.signatures["vendor"],
    )
    kept = shown[1]
    assert kept["statement"] == agreement.statement.model_dump(mode="json")
    assert kept["accepted_time"] == agreement.accepted_time
    assert kept["signatures"] == agreement.signatures


# Intentcasting (7.8) and the exchange's routes (9.7)

EXCHANGE_URL = "http://exchange.test"
JWS_HEADERS = {"content-type": "application/vrm+jws"}
MATCH_ROW = re.compile(
    r"^\| `([a-z0-9/-]+)` \| `([A-Z]{2}(?:-[A-Z0-9]{1,3})?)` \| `([a-z0-9/-]+)` "
    r"\| ([^|]+?) \| ([^|]+?) \| (yes|no) \|$",
    re.MULTILINE,
)
BAND = re.compile(r"(?:(\d+)\N{EN DASH}(\d+)|from (\d+)|up to (\d+))(?: ([A-Z]{3})|, no currency)")


def subscription_of(categories: str, regions: str, band: str) -> dict[str, Any]:
    """The subscription a row of the matching table of 7.8.3 describes."""
    subscription: dict[str, Any] = {
        "categories": [categories],
        "regions": [] if regions == "everywhere" else re.findall(r"`([A-Z0-9-]+)`", regions),
    }
    if band != "any":
        found = BAND.fullmatch(band)
        assert found is not None, band
        low, high = found.group(1) or found.group(3), found.group(2) or found.group(4)
        if low:
            subscription["minPrice"] = float(low)
        if high:
            subscription["maxPrice"] = float(high)
        if found.group(5):
            subscription["priceCurrency"] = found.group(5)
    return subscription


def intent_body(category: str, place: str, valid_through: int) -> dict[str, Any]:
    """An intent between 15000 and 25000 EUR, the one the matching table of 7.8.3 assumes."""
    where = {"addressRegion": place} if "-" in place else {"addressCountry": place}
    return {
        "demand": {
            "category": category,
            "priceSpecification": {"minPrice": 15000, "maxPrice": 25000, "priceCurrency": "EUR"},
            "areaServed": where,
            "validThrough": valid_through,
        },
        "terms": ["SD-BASE"],
    }


def open_exchange(home: Path) -> Exchange:
    """A real exchange (its own key and SQLite store in ``home``), not serving."""
    return Exchange.open(ExchangeSettings(), home=home, public_url=EXCHANGE_URL)


def received(exchange: Exchange, sender: Identity, type_name: str, body: dict[str, Any]) -> Any:
    """A message from ``sender`` to the exchange, as its verifier hands it on."""
    _, token = compose(sender, type=type_name, to=exchange.identity.did, body=body)
    return exchange.verifier.verify(token)


def test_matching_examples_are_what_the_exchange_matches(doc, tmp_path):
    """Each row of the matching table of 7.8.3 is what the exchange's market decides."""
    text = section(doc, "#### 7.8.3 ")
    assert "between 15000 and\n25000 EUR" in text
    rows = MATCH_ROW.findall(text)
    assert len(rows) >= 12
    exchange = open_exchange(tmp_path)
    try:
        for category, place, categories, regions, band, matched in rows:
            vendor, person = Identity.generate(), Identity.generate()
            subscription = subscription_of(categories, regions, band)
            body = {"name": "a vendor", "subscriptions": [subscription]}
            exchange.market.subscribe(received(exchange, vendor, EXCHANGE_SUBSCRIBE, body))
            body = intent_body(category, place, int(exchange.market.clock()) + 600)
            published = exchange.market.publish(received(exchange, person, INTENT, body))
            row = (category, place, categories, regions, band)
            assert (vendor.did in published.vendors) == (matched == "yes"), row
    finally:
        exchange.seen_ids.close()
        exchange.engine.dispose()


def test_intentcasting_limits_stated_are_the_exchanges(doc):
    """The limits 7.8 and 9.7 state are the exchange's and the taxonomy's."""
    flat = " ".join(doc.split())
    assert MAX_INTENT_LIFETIME == 90 * 86400
    assert f"**{MAX_INTENT_LIFETIME} s (90 days)**" in doc
    assert f"holds at most **{MAX_MAILBOX}** per pseudonym" in flat
    assert f"keeps the newest {MAX_MAILBOX} offers" in flat
    assert f"at most **{MAX_OFFER_BYTES} bytes**" in flat
    assert f"at most **{MAX_FETCH_BYTES} bytes**" in flat
    assert f"0 to **{MAX_WAIT_SECONDS:g}**" in flat
    assert f"oldest first, at most {MAX_MAILBOX} |" in flat
    vendor_limit = inspect.signature(Market.for_vendor).parameters["limit"].default
    assert f"oldest first, at most {vendor_limit}, and where offers go |" in flat
    shipped = taxonomy()
    assert f"**{len(shipped.categories)} categories** under {len(shipped.children())}" in flat
    assert f"`src/vrm/intents/taxonomy.json` (version {shipped.version})" in flat


def test_intentcasting_example_is_valid(doc):
    """The intent and offer of 7.8.6 are valid bodies, in a shipped category, on known terms."""
    text = section(doc, "#### 7.8.6 ")
    shown = [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", text, re.DOTALL)]
    assert len(shown) == 2
    intent, offer = Intent.model_validate(shown[0]), OfferBody.model_validate(shown[1])
    demand = intent.demand
    properties = taxonomy().properties_of(demand.category)
    assert {p.name for p in demand.itemOffered.additionalProperty} <= set(properties)
    assert terms_of(intent).agreement.id == intent.terms[0]
    assert set(offer.accepts_terms) <= set(intent.terms)
    assert offer.seller.did == BOB.did
    assert f"Its `id` is `{offer.intent}`" in text
    created = 1767225600
    assert f"`created_time` {created}" in text
    assert created < offer.offer.validThrough < demand.validThrough
    assert demand.validThrough - created <= MAX_INTENT_LIFETIME


@pytest.mark.anyio
async def test_exchange_code_listed_as_the_exchange_answers(doc, tmp_path):
    """Fetching too fast gets the status, title and code the status table lists, and Retry-After."""
    exchange = open_exchange(tmp_path)
    app = create_exchange_app(exchange, public_url=EXCHANGE_URL)
    person = Identity.generate()
    replies = []
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=EXCHANGE_URL) as client:
            for _ in range(60):
                _, token = compose(
                    person, type=MAILBOX_FETCH, to=exchange.identity.did, body=Fetch()
                )
                reply = await client.post("/mailbox/fetch", content=token, headers=JWS_HEADERS)
                replies.append(reply)
                if reply.status_code == 429:
                    break
    finally:
        await exchange.aclose()
    assert {reply.status_code for reply in replies[:-1]} == {200}
    limited = replies[-1]
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert int(limited.headers["retry-after"]) >= 1
    problem = limited.json()
    for code in EXCHANGE_CODES:
        assert problem["code"] == code
        assert problem["type"] == f"urn:vrm:problem:{code}"
        assert status_rows(doc)[code] == (problem["status"], problem["title"])


# Records (7.9)

OFFER_TAKEN = "c0f1e2d3-4b5a-4697-8887-a9b0c1d2e3f4"
"""The id 7.9.4 gives the offer of 7.8.6."""


@dataclasses.dataclass(frozen=True)
class AcceptedOffer:
    """An accepted offer as the vendor keeps it, with its intent's demand."""

    message_id: str
    body: str
    answered_at: float
    demand: str


def test_records_example_invoice_is_what_the_vendor_sends_for_the_offer(doc):
    """The invoice of 7.9.4 is the reference vendor's receipt for the offer and intent of 7.8.6."""
    intent, offer = (
        json.loads(block)
        for block in re.findall(r"```json\n(.*?)\n```", section(doc, "#### 7.8.6 "), re.DOTALL)
    )
    invoice, _ = json_blocks(section(doc, "#### 7.9.4 "))
    accepted = AcceptedOffer(
        message_id=OFFER_TAKEN,
        body=json.dumps(offer),
        answered_at=1767609000,  # 5 January 2026, 10:30 UTC
        demand=json.dumps(intent["demand"]),
    )
    seller = Receipt.model_validate(invoice).seller
    assert seller.name == offer["seller"]["name"]
    assert offer_receipt(accepted, seller=seller, now=0) == Receipt.model_validate(invoice)
    digest = hashlib.sha256(OFFER_TAKEN.encode()).hexdigest()
    assert invoice["orderNumber"] == f"offer-{digest[:16]}"  # the rule 7.9.2 states
    assert f"its `id` is `{OFFER_TAKEN}`" in section(doc, "#### 7.9.4 ")


def test_records_example_receipt_adds_up_and_corrects_the_invoice(doc):
    """The receipt of 7.9.4 is valid, corrects the invoice, and its stated sums are the rule's."""
    text = section(doc, "#### 7.9.4 ")
    invoice, paid = (Receipt.model_validate(block) for block in json_blocks(text))
    assert (paid.orderNumber, paid.offer) == (invoice.orderNumber, invoice.offer)
    assert paid.payment is not None
    assert paid.payment.status == "paid"
    assert f"`{paid.total}`" in text
    assert paid.expected_total() == Decimal(paid.total)
    vat = next(tax for tax in paid.taxes if tax.included)
    net = (Decimal(paid.total) - sum(Decimal(t.amount) for t in paid.taxes if not t.included)) / 6
    assert Decimal(vat.amount) == net.quantize(Decimal("0.01"))  # 20 % within the prices
    document = paid.model_dump(mode="json")
    for wrong in (
        {"total": "19466.5"},
        {"taxes": [{**tax, "included": False} for tax in document["taxes"]]},
    ):
        body = {**document, **wrong}
        _, token = compose(BOB, type=RECEIPT, to=ALICE.did, body=body, now=RECEIVED_AT)
        assert verdict_of(ALICE, token, record_types()) == RefusalCode.INVALID_BODY.value
    _, token = compose(BOB, type=RECEIPT, to=ALICE.did, body=document, now=RECEIVED_AT)
    assert verdict_of(ALICE, token, record_types()) == "valid"


def json_blocks(text: str) -> list[dict[str, Any]]:
    """The JSON objects shown in a piece of the document, in order."""
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", text, re.DOTALL)]
