"""Decoding a message for people: what it says, and whether it can be trusted."""

from __future__ import annotations

import json
from typing import Any

from vrm.protocol.encoding import b64url_decode
from vrm.protocol.errors import ProtocolError
from vrm.protocol.jwe import recipient_of
from vrm.protocol.verify import Verifier

_JWE_SEGMENTS = 5


def inspect_message(token: str, verifier: Verifier) -> dict[str, Any]:
    """Decode ``token`` as far as possible and verify it.

    Returns a JSON-able report with the ``header``, the ``envelope`` (decoded even
    when the message is refused, so a person can see what was claimed), and the
    ``verdict``: ``valid``, ``encrypted``, or the refusal code with a ``detail``.
    """
    segments = token.split(".")
    if len(segments) == _JWE_SEGMENTS:
        try:
            return {"verdict": "encrypted", "recipient": recipient_of(token)}
        except ProtocolError as exc:
            return {"verdict": exc.code.value, "detail": exc.detail}
    report: dict[str, Any] = {"header": _decode_segment(segments, 0)}
    report["envelope"] = _decode_segment(segments, 1)
    try:
        verifier.verify(token)
    except ProtocolError as exc:
        report.update(verdict=exc.code.value, detail=exc.detail)
    else:
        report["verdict"] = "valid"
    return report


def _decode_segment(segments: list[str], index: int) -> Any:
    try:
        return json.loads(b64url_decode(segments[index]))
    except (IndexError, ValueError, RecursionError, ProtocolError):
        return None
