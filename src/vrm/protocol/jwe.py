"""Encryption for messages that pass through a relay (JWE, RFC 7516, RFC 8037).

Sign, then encrypt: the signed compact JWS becomes the plaintext of a compact JWE
to the recipient's X25519 key (derived from its did:key), with ECDH-ES+A256KW key
agreement and A256GCM content encryption (joserfc does the cryptography). A relay
sees only the protected header: the recipient's key id, which is the routing
data, and never the sender, the type or the body.
"""

from __future__ import annotations

import json

from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from vrm.protocol.did import key_agreement_kid, x25519_from_did
from vrm.protocol.encoding import b64url_decode, b64url_encode
from vrm.protocol.errors import ProtocolError, RefusalCode
from vrm.protocol.keys import Identity
from vrm.protocol.verify import DEFAULT_MAX_BYTES

KEY_ALG = "ECDH-ES+A256KW"
CONTENT_ENC = "A256GCM"
JWE_TYP = "vrm+jwe"
_ALGORITHMS = [KEY_ALG, CONTENT_ENC]


class _Registry(jwe.JWERegistry):
    """joserfc's checks, with room for the largest message an inbox accepts.

    joserfc refuses ciphertexts over 64 KiB by default; a signed message may be
    256 KiB (:data:`vrm.protocol.verify.DEFAULT_MAX_BYTES`), and the compact form is
    checked at its base64url length too. Inboxes bound the request body before this.
    """

    max_ciphertext_length = 2 * DEFAULT_MAX_BYTES


_REGISTRY = _Registry(algorithms=_ALGORITHMS)


def encrypt_for(recipient_did: str, signed_message: str) -> str:
    """Encrypt a signed message (compact JWS) to ``recipient_did`` as a compact JWE."""
    key = OKPKey.import_key(
        {"kty": "OKP", "crv": "X25519", "x": b64url_encode(x25519_from_did(recipient_did))}
    )
    protected = {
        "alg": KEY_ALG,
        "enc": CONTENT_ENC,
        "kid": key_agreement_kid(recipient_did),
        "typ": JWE_TYP,
        "cty": "vrm+jws",
    }
    return jwe.encrypt_compact(
        protected, signed_message.encode("ascii"), key, algorithms=_ALGORITHMS
    )


def recipient_of(encrypted: str) -> str:
    """Return the recipient DID a JWE is routed to, without decrypting it (what a relay reads)."""
    header_b64 = encrypted.split(".", 1)[0]
    try:
        header = json.loads(b64url_decode(header_b64).decode("utf-8"))
        kid = header["kid"]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise ProtocolError(RefusalCode.MALFORMED, "JWE protected header has no kid") from exc
    if not isinstance(kid, str):
        raise ProtocolError(RefusalCode.MALFORMED, "JWE kid is not a string")
    did, _, _ = kid.partition("#")
    return did


def decrypt(encrypted: str, identity: Identity) -> str:
    """Decrypt a JWE addressed to ``identity`` and return the signed message inside.

    Raises:
        ProtocolError: ``wrong_recipient`` when it is for another key,
            ``undecryptable`` when it does not decrypt.
    """
    if recipient_of(encrypted) != identity.did:
        raise ProtocolError(RefusalCode.WRONG_RECIPIENT, "encrypted to another party")
    private = identity.x25519_private_key
    key = OKPKey.import_key(
        {
            "kty": "OKP",
            "crv": "X25519",
            "x": b64url_encode(x25519_from_did(identity.did)),
            "d": b64url_encode(private),
        }
    )
    try:
        plaintext = jwe.decrypt_compact(encrypted, key, registry=_REGISTRY).plaintext
    except (JoseError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        # joserfc raises plain KeyError/TypeError on some hostile headers (an EC epk, say).
        raise ProtocolError(RefusalCode.UNDECRYPTABLE, "message does not decrypt") from exc
    if plaintext is None:
        raise ProtocolError(RefusalCode.UNDECRYPTABLE, "message has no content")
    try:
        return plaintext.decode("ascii")
    except UnicodeDecodeError as exc:
        raise ProtocolError(
            RefusalCode.MALFORMED, "encrypted content is not a compact JWS"
        ) from exc


__all__ = ["decrypt", "encrypt_for", "recipient_of"]
