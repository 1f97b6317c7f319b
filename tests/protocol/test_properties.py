"""Properties over many inputs: bodies survive signing, and no altered byte is accepted."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict

from vrm.protocol import (
    Identity,
    MessageTypes,
    ProtocolError,
    Verifier,
    compose,
    decrypt,
    v1_types,
)

from .support import T0, FakeClock, compact_with_header

FREEFORM = "vrm/1/test.freeform"

# Two fixed parties: deriving keys is cheap, but reusing them keeps examples focused.
SENDER = Identity.from_seed(bytes(range(32)))
RECEIVER = Identity.from_seed(bytes(range(1, 33)))


class Freeform(BaseModel):
    """A body that keeps any JSON members it is given."""

    model_config = ConfigDict(extra="allow")


def _types() -> MessageTypes:
    types = v1_types()
    types.add(FREEFORM, Freeform)
    return types


def _verifier() -> Verifier:
    # No seen-ids store: a replay refusal must not stand in for a real one.
    return Verifier(receiver=RECEIVER.did, types=_types(), seen_ids=None, clock=FakeClock())


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=10,
)
bodies = st.dictionaries(st.text(max_size=20), json_values, max_size=6)


@settings(max_examples=100, deadline=None, database=None)
@given(body=bodies)
def test_any_json_body_round_trips(body: dict[str, Any]):
    """Any JSON object body comes out of verification equal to what was composed."""
    envelope, token = compose(SENDER, type=FREEFORM, to=RECEIVER.did, body=body, now=T0)
    message = _verifier().verify(token)
    assert message.envelope == envelope
    assert message.envelope.body == body
    assert message.body.model_dump() == body
    assert message.sender == SENDER.did


@settings(max_examples=200, deadline=None, database=None)
@given(data=st.data(), comment=st.text(max_size=50))
def test_flipping_any_byte_is_refused(data: st.DataObject, comment: str):
    """Changing any single byte of a signed message (to any other value) makes it refused."""
    _, token = compose(SENDER, type=FREEFORM, to=RECEIVER.did, body={"comment": comment}, now=T0)
    raw = token.encode("ascii")
    verifier = _verifier()
    assert verifier.verify(raw).body.model_dump() == {"comment": comment}
    position = data.draw(st.integers(min_value=0, max_value=len(raw) - 1), label="position")
    mask = data.draw(st.integers(min_value=1, max_value=255), label="xor")
    flipped = bytearray(raw)
    flipped[position] ^= mask
    try:
        verifier.verify(bytes(flipped))
    except ProtocolError:
        pass
    else:
        raise AssertionError(f"byte {position} ^ {mask:#04x} was accepted")


def test_flipping_each_byte_in_turn_is_refused():
    """Every position of a signed message is covered: flipping its low or high bit is refused."""
    _, token = compose(SENDER, type=FREEFORM, to=RECEIVER.did, body={"n": 1}, now=T0)
    raw = token.encode("ascii")
    verifier = _verifier()
    accepted = []
    for position in range(len(raw)):
        for mask in (0x01, 0x80):
            flipped = bytearray(raw)
            flipped[position] ^= mask
            try:
                verifier.verify(bytes(flipped))
            except ProtocolError:
                continue
            accepted.append((position, mask))
    assert accepted == []
    assert verifier.verify(raw).body.model_dump() == {"n": 1}


segment_text = st.text(
    alphabet=st.sampled_from(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ é\x00"
    ),
    max_size=200,
)


@settings(max_examples=300, deadline=None, database=None)
@given(raw=st.binary(max_size=400) | segment_text.map(str.encode))
def test_arbitrary_input_is_refused_never_crashes(raw: bytes):
    """Any bytes at all end in a ProtocolError refusal, never in another exception."""
    try:
        _verifier().verify(raw)
    except ProtocolError:
        return
    raise AssertionError(f"{raw!r} was accepted")


@settings(max_examples=200, deadline=None, database=None)
@given(header=json_values, payload=json_values)
def test_arbitrary_signed_json_is_refused_never_crashes(header: Any, payload: Any):
    """Any JSON header and payload, correctly signed, is refused by a code, never a crash."""
    header_object = header if isinstance(header, dict) else {"alg": header, "kid": SENDER.kid}
    token = compact_with_header(header_object, json.dumps(payload).encode(), SENDER)
    try:
        _verifier().verify(token)
    except ProtocolError:
        return
    raise AssertionError(f"{token!r} was accepted")


@settings(max_examples=150, deadline=None, database=None)
@given(segments=st.lists(segment_text, min_size=5, max_size=5))
def test_arbitrary_jwe_is_refused_never_crashes(segments: list[str]):
    """Five arbitrary segments posing as a JWE are refused by a code, never a crash."""
    try:
        decrypt(".".join(segments), RECEIVER)
    except ProtocolError:
        return
    raise AssertionError("an arbitrary JWE decrypted")
