"""Hostile inputs that once escaped as crashes instead of refusals."""

from __future__ import annotations

import json
import time

import pytest

from vrm.protocol import (
    PING,
    Identity,
    MemorySeenIds,
    Ping,
    ProtocolError,
    RefusalCode,
    Verifier,
    compose,
    decrypt,
    encrypt_for,
    recipient_of,
    sign_compact,
    v1_types,
)
from vrm.protocol.encoding import b64url_decode, b64url_encode


def test_alg_that_is_not_a_string_is_refused(alice: Identity) -> None:
    """A header whose alg is a JSON array is an unsupported algorithm, not a crash."""
    bob = Identity.generate()
    _, token = compose(alice, type=PING, to=bob.did, body=Ping())
    _, payload, signature = token.split(".")
    header = b64url_encode(json.dumps({"alg": ["Ed25519"], "kid": alice.kid}).encode())
    verifier = Verifier(receiver=bob.did, types=v1_types(), seen_ids=None)
    with pytest.raises(ProtocolError) as refused:
        verifier.verify(f"{header}.{payload}.{signature}")
    assert refused.value.code is RefusalCode.UNSUPPORTED_ALGORITHM


@pytest.mark.parametrize(
    "epk",
    [
        {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
        {"kty": "OKP", "crv": "P-256", "x": "AA"},
        "not a key",
    ],
)
def test_jwe_with_a_foreign_ephemeral_key_is_undecryptable(alice: Identity, epk: object) -> None:
    """A JWE whose ephemeral key is of another kind is refused as undecryptable."""
    bob = Identity.generate()
    _, token = compose(alice, type=PING, to=bob.did, body=Ping())
    header_b64, *rest = encrypt_for(bob.did, token).split(".")
    header = json.loads(b64url_decode(header_b64))
    header["epk"] = epk
    forged = ".".join([b64url_encode(json.dumps(header).encode()), *rest])
    with pytest.raises(ProtocolError) as refused:
        decrypt(forged, bob)
    assert refused.value.code is RefusalCode.UNDECRYPTABLE


@pytest.mark.parametrize("text", ["YQ==", "+/+/", "YWJj!!!!", "YW Jj"])
def test_non_canonical_base64url_is_refused(text: str) -> None:
    """Padding, the standard alphabet and stray characters are not base64url."""
    with pytest.raises(ProtocolError) as refused:
        b64url_decode(text)
    assert refused.value.code is RefusalCode.MALFORMED


def test_padded_jwe_header_is_refused_by_a_relay(alice: Identity) -> None:
    """A relay reading the routing header refuses a padded (non-canonical) one."""
    bob = Identity.generate()
    _, token = compose(alice, type=PING, to=bob.did, body=Ping())
    header_b64, *rest = encrypt_for(bob.did, token).split(".")
    padded = header_b64 + "=" * (-len(header_b64) % 4 or 4)
    with pytest.raises(ProtocolError):
        recipient_of(".".join([padded, *rest]))


def test_message_header_is_a_copy(alice: Identity) -> None:
    """Changing one verified message's header does not change the next one's."""
    bob = Identity.generate()
    verifier = Verifier(receiver=bob.did, types=v1_types(), seen_ids=None)
    first = verifier.verify(compose(alice, type=PING, to=bob.did, body=Ping())[1])
    first.header["kid"] = "changed"
    second = verifier.verify(compose(alice, type=PING, to=bob.did, body=Ping())[1])
    assert second.header["kid"] == alice.kid


def _signed_envelope(identity: Identity, envelope: dict[str, object]) -> str:
    return sign_compact(json.dumps(envelope).encode(), identity)


def _envelope(alice: Identity, bob: Identity, **changes: object) -> dict[str, object]:
    now = int(time.time())
    envelope: dict[str, object] = {
        "id": "m-1",
        "type": PING,
        "from": alice.did,
        "to": bob.did,
        "created_time": now,
        "expires_time": now + 60,
        "body": {},
    }
    envelope.update(changes)
    return envelope


@pytest.mark.parametrize(
    "changes",
    [
        {"created_time": "1767225600"},
        {"expires_time": 4102444800.0},
        {"created_time": True},
        {"id": 12345},
    ],
    ids=["time-as-string", "time-as-float", "time-as-bool", "id-as-number"],
)
def test_envelope_types_are_exact(alice: Identity, changes: dict[str, object]) -> None:
    """Envelope members must have their exact JSON types; lenient conversions are malformed."""
    bob = Identity.generate()
    verifier = Verifier(receiver=bob.did, types=v1_types(), seen_ids=None)
    with pytest.raises(ProtocolError) as refused:
        verifier.verify(_signed_envelope(alice, _envelope(alice, bob, **changes)))
    assert refused.value.code is RefusalCode.MALFORMED


def test_only_the_wire_name_from_is_accepted(alice: Identity) -> None:
    """``from_`` (the Python name) is not a substitute for ``from``."""
    bob = Identity.generate()
    envelope = _envelope(alice, bob)
    envelope["from_"] = envelope.pop("from")
    verifier = Verifier(receiver=bob.did, types=v1_types(), seen_ids=None)
    with pytest.raises(ProtocolError) as refused:
        verifier.verify(_signed_envelope(alice, envelope))
    assert refused.value.code is RefusalCode.MALFORMED


@pytest.mark.parametrize("value", ["yes", "true", 1, 0.0])
def test_body_types_are_exact(alice: Identity, value: object) -> None:
    """A ping's response_requested must be a JSON boolean."""
    bob = Identity.generate()
    envelope = _envelope(alice, bob, body={"response_requested": value})
    verifier = Verifier(receiver=bob.did, types=v1_types(), seen_ids=None)
    with pytest.raises(ProtocolError) as refused:
        verifier.verify(_signed_envelope(alice, envelope))
    assert refused.value.code is RefusalCode.INVALID_BODY


def test_utf16_header_is_malformed(alice: Identity) -> None:
    """The protected header is UTF-8 JSON; the same JSON in UTF-16 is refused."""
    bob = Identity.generate()
    _, token = compose(alice, type=PING, to=bob.did, body=Ping())
    _, payload, signature = token.split(".")
    header = b64url_encode(json.dumps({"alg": "Ed25519", "kid": alice.kid}).encode("utf-16"))
    verifier = Verifier(receiver=bob.did, types=v1_types(), seen_ids=None)
    with pytest.raises(ProtocolError) as refused:
        verifier.verify(f"{header}.{payload}.{signature}")
    assert refused.value.code is RefusalCode.MALFORMED


def test_lifetime_over_the_maximum_is_refused(alice: Identity) -> None:
    """A message meant to live longer than the receiver allows is refused."""
    bob = Identity.generate()
    now = int(time.time())
    envelope = _envelope(alice, bob, created_time=now, expires_time=now + 31 * 24 * 3600)
    verifier = Verifier(receiver=bob.did, types=v1_types(), seen_ids=None)
    with pytest.raises(ProtocolError) as refused:
        verifier.verify(_signed_envelope(alice, envelope))
    assert refused.value.code is RefusalCode.LIFETIME_TOO_LONG
    short = Verifier(receiver=bob.did, types=v1_types(), seen_ids=None, max_lifetime=30)
    with pytest.raises(ProtocolError):
        short.verify(_signed_envelope(alice, _envelope(alice, bob)))


def test_same_id_from_two_senders_is_not_a_replay(alice: Identity) -> None:
    """Ids are scoped to their sender: Mallory cannot block Alice's id by using it first."""
    bob, mallory = Identity.generate(), Identity.generate()
    verifier = Verifier(receiver=bob.did, types=v1_types(), seen_ids=MemorySeenIds())
    verifier.verify(_signed_envelope(mallory, _envelope(mallory, bob, id="shared-id")))
    accepted = verifier.verify(_signed_envelope(alice, _envelope(alice, bob, id="shared-id")))
    assert accepted.sender == alice.did
