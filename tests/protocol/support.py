"""Helpers for the protocol tests: a settable clock, the vectors, hand-built JWS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vrm.protocol import Identity
from vrm.protocol.encoding import b64url_decode, b64url_encode

VECTORS = Path(__file__).parent / "vectors"

# Any fixed instant works; messages in tests are built relative to it.
T0 = 1_700_000_000


class FakeClock:
    """A clock that stays where a test puts it."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def load_vectors(name: str) -> Any:
    """Return the parsed JSON of ``vectors/<name>``."""
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def compact_with_header(header: dict[str, Any], payload: bytes, identity: Identity) -> str:
    """Sign ``payload`` under an arbitrary protected ``header`` (to build hostile messages)."""
    signing_input = (
        b64url_encode(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url_encode(payload)
    )
    return signing_input + "." + b64url_encode(identity.sign(signing_input.encode("ascii")))


def decode_segment_json(segment: str) -> Any:
    """Decode one base64url segment holding JSON."""
    return json.loads(b64url_decode(segment))
