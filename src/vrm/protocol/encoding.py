"""base64url without padding (RFC 7515 section 2), strictly decoded."""

from __future__ import annotations

import base64
import binascii

from vrm.protocol.errors import ProtocolError, RefusalCode

_VALUES = {
    char: value
    for value, char in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
}
_PADDING = (b"", b"", b"==", b"=")
# base64url → standard alphabet; "+", "/" and "=" become "!" so strict decoding refuses them.
_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_+/=", b"+/!!!")
# How many low bits of the last character carry no data, by length modulo 4.
_UNUSED_BITS = (0, 0, 0b1111, 0b11)


def b64url_encode(data: bytes) -> str:
    """Encode bytes as unpadded base64url text."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url text, refusing anything that is not canonical.

    Canonical means the unused low bits of the last character are zero, so two
    different strings never stand for the same bytes (a flipped padding bit is
    refused, not silently ignored).
    """
    tail = len(text) % 4
    if tail == 1 or (tail and _VALUES.get(text[-1], 1) & _UNUSED_BITS[tail]):
        raise ProtocolError(RefusalCode.MALFORMED, "non-canonical base64url")
    try:
        data = text.encode("ascii").translate(_URLSAFE_TO_STANDARD) + _PADDING[tail]
        return binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError(RefusalCode.MALFORMED, "invalid base64url") from exc
