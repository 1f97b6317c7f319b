"""Encryption through relays: round trip, what a relay can see, and refusals."""

from __future__ import annotations

import json

import pytest
from jwcrypto import jwe as jwcrypto_jwe
from jwcrypto import jwk as jwcrypto_jwk

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
    x25519_from_did,
)
from vrm.protocol.encoding import b64url_decode, b64url_encode

from .support import decode_segment_json

SECRET_COMMENT = "the-secret-body-text-4711"


def _signed(sender: Identity, receiver: Identity) -> str:
    return compose(sender, type=PING, to=receiver.did, body=Ping(comment=SECRET_COMMENT))[1]


def _refusal(encrypted: str, identity: Identity) -> RefusalCode:
    with pytest.raises(ProtocolError) as caught:
        decrypt(encrypted, identity)
    return caught.value.code


def _replace_segment(token: str, index: int, segment: str) -> str:
    parts = token.split(".")
    parts[index] = segment
    return ".".join(parts)


def _flip_first_byte(segment: str) -> str:
    raw = bytearray(b64url_decode(segment))
    raw[0] ^= 0x01
    return b64url_encode(bytes(raw))


def test_encrypt_then_decrypt_round_trips(alice, bob):
    """The recipient decrypts exactly the signed message that was encrypted, and it verifies."""
    signed = _signed(alice, bob)
    encrypted = encrypt_for(bob.did, signed)
    assert encrypted != signed
    assert len(encrypted.split(".")) == 5
    assert decrypt(encrypted, bob) == signed
    verifier = Verifier(receiver=bob.did, types=v1_types(), seen_ids=None)
    assert verifier.verify(decrypt(encrypted, bob)).body == Ping(comment=SECRET_COMMENT)


def test_each_encryption_is_fresh(alice, bob):
    """Encrypting the same message twice gives different tokens (fresh ephemeral key and IV)."""
    signed = _signed(alice, bob)
    first, second = encrypt_for(bob.did, signed), encrypt_for(bob.did, signed)
    assert first != second
    assert decrypt(first, bob) == decrypt(second, bob) == signed


def test_recipient_of_names_the_recipient(alice, bob):
    """A relay reads the recipient DID from the JWE without any key."""
    assert recipient_of(encrypt_for(bob.did, _signed(alice, bob))) == bob.did


def test_protected_header_names_only_the_recipient_key(alice, bob):
    """The protected header is the algorithms, the recipient's key-agreement kid and an epk."""
    header = decode_segment_json(encrypt_for(bob.did, _signed(alice, bob)).split(".")[0])
    assert header["alg"] == "ECDH-ES+A256KW"
    assert header["enc"] == "A256GCM"
    assert header["kid"] == bob.key_agreement_kid
    assert header["epk"]["crv"] == "X25519"
    assert b64url_decode(header["epk"]["x"]) != x25519_from_did(alice.did)


def test_relay_sees_neither_sender_nor_type_nor_body(alice, bob):
    """Nothing a relay can decode shows the sender, the message type or the body text."""
    encrypted = encrypt_for(bob.did, _signed(alice, bob))
    header_text = b64url_decode(encrypted.split(".")[0]).decode()
    sender_key = alice.did.removeprefix("did:key:")
    for secret in (alice.did, sender_key, alice.key_agreement_kid, PING, SECRET_COMMENT):
        assert secret not in header_text
        assert secret not in encrypted
    decoded = b"".join(b64url_decode(segment) for segment in encrypted.split("."))
    for secret in (alice.did, sender_key, PING, SECRET_COMMENT):
        assert secret.encode() not in decoded


def test_another_identity_cannot_decrypt(alice, bob, carol):
    """A JWE for bob is refused by carol as addressed to someone else."""
    encrypted = encrypt_for(bob.did, _signed(alice, bob))
    assert _refusal(encrypted, carol) == RefusalCode.WRONG_RECIPIENT


@pytest.mark.parametrize(
    ("index", "name"),
    [(1, "encrypted-key"), (2, "iv"), (3, "ciphertext"), (4, "tag")],
)
def test_tampered_segment_is_undecryptable(alice, bob, index, name):
    """A JWE with any byte of its key, IV, ciphertext or tag changed does not decrypt."""
    encrypted = encrypt_for(bob.did, _signed(alice, bob))
    tampered = _replace_segment(encrypted, index, _flip_first_byte(encrypted.split(".")[index]))
    assert _refusal(tampered, bob) == RefusalCode.UNDECRYPTABLE, name


def test_tampered_protected_header_is_undecryptable(alice, bob):
    """Changing the protected header (authenticated data) while keeping the kid is refused."""
    encrypted = encrypt_for(bob.did, _signed(alice, bob))
    header = decode_segment_json(encrypted.split(".")[0])
    header["cty"] = "text/plain"
    tampered = _replace_segment(encrypted, 0, b64url_encode(json.dumps(header).encode()))
    assert recipient_of(tampered) == bob.did
    assert _refusal(tampered, bob) == RefusalCode.UNDECRYPTABLE


def test_kid_forged_to_the_recipient_is_undecryptable(alice, bob, carol):
    """A JWE encrypted to carol whose kid is rewritten to bob's key does not decrypt for bob."""
    encrypted = encrypt_for(carol.did, _signed(alice, carol))
    header = decode_segment_json(encrypted.split(".")[0])
    header["kid"] = bob.key_agreement_kid
    forged = _replace_segment(encrypted, 0, b64url_encode(json.dumps(header).encode()))
    assert recipient_of(forged) == bob.did
    assert _refusal(forged, bob) == RefusalCode.UNDECRYPTABLE


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("", id="empty"),
        pytest.param("!!!", id="not-base64"),
        pytest.param(b64url_encode(b"[1]") + ".a.b.c.d", id="header-array"),
        pytest.param(b64url_encode(b'{"alg":"dir"}') + ".a.b.c.d", id="no-kid"),
        pytest.param(b64url_encode(b'{"kid":5}') + ".a.b.c.d", id="kid-not-string"),
    ],
)
def test_recipient_of_refuses_jwe_without_kid(token):
    """A token whose protected header has no string kid cannot be routed and is malformed."""
    with pytest.raises(ProtocolError) as caught:
        recipient_of(token)
    assert caught.value.code == RefusalCode.MALFORMED


def test_jwcrypto_decrypts_our_jwe(alice, bob):
    """A JWE we make is decrypted by jwcrypto with the recipient's X25519 key."""
    signed = _signed(alice, bob)
    private = jwcrypto_jwk.JWK(
        kty="OKP",
        crv="X25519",
        x=b64url_encode(x25519_from_did(bob.did)),
        d=b64url_encode(bob.x25519_private_key),
    )
    received = jwcrypto_jwe.JWE()
    received.deserialize(encrypt_for(bob.did, signed), key=private)
    assert received.payload == signed.encode()


def test_we_decrypt_jwcrypto_jwe(alice, bob):
    """A JWE jwcrypto encrypts to a did:key's X25519 key is decrypted by its identity."""
    signed = _signed(alice, bob)
    protected = {"alg": "ECDH-ES+A256KW", "enc": "A256GCM", "kid": bob.key_agreement_kid}
    sent = jwcrypto_jwe.JWE(signed.encode(), protected=json.dumps(protected))
    sent.add_recipient(
        jwcrypto_jwk.JWK(kty="OKP", crv="X25519", x=b64url_encode(x25519_from_did(bob.did)))
    )
    assert decrypt(sent.serialize(compact=True), bob) == signed
