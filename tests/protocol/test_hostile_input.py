"""Hostile inputs that once escaped as crashes instead of refusals."""

from __future__ import annotations

import json

import pytest

from vrm.protocol import (
    PING,
    Identity,
    Ping,
    ProtocolError,
    RefusalCode,
    Verifier,
    compose,
    decrypt,
    encrypt_for,
    recipient_of,
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
