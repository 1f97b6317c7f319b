"""``did:key`` identifiers for Ed25519 keys (W3C CCG did:key method).

A did:key is ``did:key:`` + multibase base58btc (``z``) of the multicodec-prefixed
public key: ``0xed 0x01`` for Ed25519, ``0xec 0x01`` for X25519. Its single
verification method id (our JWS ``kid``) is the DID, ``#``, and the same multibase
value. The X25519 key-agreement key is derived from the Ed25519 key by the
birational map, exactly as the did:key method does.
"""

from __future__ import annotations

import base58
from nacl.bindings import crypto_sign_ed25519_pk_to_curve25519
from nacl.exceptions import CryptoError

from vrm.protocol.errors import ProtocolError, RefusalCode

DID_KEY_PREFIX = "did:key:"
ED25519_MULTICODEC = b"\xed\x01"
X25519_MULTICODEC = b"\xec\x01"
_PUBLIC_KEY_BYTES = 32


def did_from_ed25519(public_key: bytes) -> str:
    """Return the did:key naming an Ed25519 public key."""
    if len(public_key) != _PUBLIC_KEY_BYTES:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return DID_KEY_PREFIX + _multibase(ED25519_MULTICODEC + public_key)


def ed25519_from_did(did: str) -> bytes:
    """Return the Ed25519 public key a did:key names.

    Raises:
        ProtocolError: ``unresolvable_key`` when the DID is not an Ed25519 did:key.
    """
    if not did.startswith(DID_KEY_PREFIX + "z"):
        raise ProtocolError(RefusalCode.UNRESOLVABLE_KEY, "not a base58btc did:key")
    raw = _b58decode(did[len(DID_KEY_PREFIX) + 1 :])
    if raw is None:
        raise ProtocolError(RefusalCode.UNRESOLVABLE_KEY, "did:key is not base58btc")
    if raw[:2] != ED25519_MULTICODEC or len(raw) != 2 + _PUBLIC_KEY_BYTES:
        raise ProtocolError(RefusalCode.UNRESOLVABLE_KEY, "did:key is not an Ed25519 key")
    return raw[2:]


_MAX_DIGITS = 64
_B58_DIGITS = {digit: value for value, digit in enumerate(base58.BITCOIN_ALPHABET.decode())}


def _b58decode(text: str) -> bytes | None:
    """Base58btc to bytes, None when a character is not a base58 digit.

    Every signature check from a new sender decodes its DID: a dictionary look-up per
    digit takes a third of the time of ``base58.b58decode`` (same output, tested).
    """
    if len(text) > _MAX_DIGITS:
        return None  # no key we take is this long; big numbers cost quadratic time
    number = 0
    digits = _B58_DIGITS
    for character in text:
        value = digits.get(character)
        if value is None:
            return None
        number = number * 58 + value
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")


def kid_for(did: str) -> str:
    """Return the verification method id (JWS ``kid``) of a did:key."""
    return f"{did}#{did[len(DID_KEY_PREFIX) :]}"


def did_from_kid(kid: str) -> str:
    """Return the DID a ``kid`` belongs to, checking it is that DID's own key id.

    Raises:
        ProtocolError: ``unresolvable_key`` when the kid is not ``did:key:z…#z…``
            with the same value on both sides of ``#``.
    """
    did, sep, fragment = kid.partition("#")
    if not sep or not did.startswith(DID_KEY_PREFIX) or fragment != did[len(DID_KEY_PREFIX) :]:
        raise ProtocolError(
            RefusalCode.UNRESOLVABLE_KEY, "kid is not a did:key verification method"
        )
    return did


def x25519_from_did(did: str) -> bytes:
    """Return the X25519 key-agreement public key derived from an Ed25519 did:key."""
    try:
        return bytes(crypto_sign_ed25519_pk_to_curve25519(ed25519_from_did(did)))
    except CryptoError as exc:
        raise ProtocolError(
            RefusalCode.UNRESOLVABLE_KEY, "key is not a valid Ed25519 point"
        ) from exc


def x25519_multibase(x25519_public_key: bytes) -> str:
    """Return the multibase form (``z6LS…``) of an X25519 public key."""
    return _multibase(X25519_MULTICODEC + x25519_public_key)


def key_agreement_kid(did: str) -> str:
    """Return the id of the X25519 key-agreement method of an Ed25519 did:key."""
    return f"{did}#{x25519_multibase(x25519_from_did(did))}"


def _multibase(data: bytes) -> str:
    return "z" + base58.b58encode(data).decode("ascii")
