"""Compact JWS (RFC 7515) with Ed25519 signatures (RFC 8037, RFC 9864).

We sign with ``alg: Ed25519``, the fully-specified name RFC 9864 registers, and
accept the deprecated polymorphic ``EdDSA`` from peers that still send it (with an
Ed25519 key they mean the same algorithm). The encoding is written here rather
than through a JOSE library because verification is the hot path of every inbox:
a direct libsodium call is several times faster than a general library's EdDSA
path (see docs/performance.md). Interoperability with joserfc and jwcrypto is
proved by the test suite.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from vrm.protocol.encoding import b64url_decode, b64url_encode
from vrm.protocol.errors import ProtocolError, RefusalCode
from vrm.protocol.keys import Identity

ALG = "Ed25519"
LEGACY_ALG = "EdDSA"
ACCEPTED_ALGS = frozenset({ALG, LEGACY_ALG})
JWS_TYP = "vrm+jws"

_SEGMENTS = 3
_SIGNATURE_B64_LENGTH = 86  # 64 bytes, unpadded base64url


def sign_compact(payload: bytes, identity: Identity, *, typ: str = JWS_TYP) -> str:
    """Return ``payload`` signed by ``identity`` as a compact JWS."""
    signing_input = _encoded_header(identity.kid, typ) + "." + b64url_encode(payload)
    return signing_input + "." + b64url_encode(identity.sign(signing_input.encode("ascii")))


@lru_cache(maxsize=1024)
def _encoded_header(kid: str, typ: str) -> str:
    # One sender signs many messages under the same header: encode it once.
    header = {"alg": ALG, "kid": kid, "typ": typ}
    return b64url_encode(json.dumps(header, separators=(",", ":")).encode())


@dataclass(frozen=True, slots=True)
class CompactParts:
    """The three segments of a compact JWS, split but not yet trusted."""

    header_b64: str
    payload_b64: str
    signing_input: bytes
    signature: bytes


def split_compact(token: str) -> CompactParts:
    """Split a compact JWS into its segments, refusing anything malformed.

    Only the signature is decoded here; the header is decoded by :func:`decode_header`
    (which receivers cache) and the payload only once the signature has verified.
    """
    segments = token.split(".")
    if len(segments) != _SEGMENTS or len(segments[2]) != _SIGNATURE_B64_LENGTH:
        raise ProtocolError(RefusalCode.MALFORMED, "not a compact JWS with an Ed25519 signature")
    header_b64, payload_b64, signature_b64 = segments
    if not header_b64 or not payload_b64:
        raise ProtocolError(RefusalCode.MALFORMED, "empty JWS segment")
    try:
        signing_input = token[: -_SIGNATURE_B64_LENGTH - 1].encode("ascii")
    except UnicodeEncodeError as exc:
        raise ProtocolError(RefusalCode.MALFORMED, "a compact JWS is ASCII") from exc
    return CompactParts(
        header_b64=header_b64,
        payload_b64=payload_b64,
        signing_input=signing_input,
        signature=b64url_decode(signature_b64),
    )


def decode_header(header_b64: str) -> dict[str, Any]:
    """Decode and check a protected header; return it."""
    try:
        header = json.loads(b64url_decode(header_b64).decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(RefusalCode.MALFORMED, "protected header is not JSON") from exc
    if not isinstance(header, dict):
        raise ProtocolError(RefusalCode.MALFORMED, "protected header is not a JSON object")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ACCEPTED_ALGS:
        raise ProtocolError(
            RefusalCode.UNSUPPORTED_ALGORITHM, f"alg must be {ALG} (or legacy {LEGACY_ALG})"
        )
    if "crit" in header:
        raise ProtocolError(RefusalCode.MALFORMED, "no critical header extensions are understood")
    if not isinstance(header.get("kid"), str):
        raise ProtocolError(RefusalCode.MALFORMED, "protected header has no kid")
    return header
