"""RFC 8785 canonical JSON (JCS), with a fast path for the documents agreements hold.

``rfc8785`` (Trail of Bits) implements the scheme in Python and is the reference
here. For JSON with no floating-point numbers and only ASCII member names — every
terms document and statement — the standard library's encoder with sorted keys,
no spaces and no ASCII escaping writes the same bytes: names sort the same by
UTF-16 code unit and by code point when they are ASCII, integers print the same,
and both escape exactly the quotation mark, the reverse solidus and the control
characters (five of them in short form, the rest as lowercase six-character
escapes). It is about six times faster (docs/performance.md, agreements); a
property test checks the two agree.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
)


def canonical_json(document: Any) -> bytes:
    """The RFC 8785 canonical form of a JSON document, as UTF-8."""
    if _plain(document):
        return _ENCODER.encode(document).encode("utf-8")
    return rfc8785.dumps(document)


def _plain(value: Any) -> bool:
    """True when the fast path writes what RFC 8785 does: no floats, ASCII names."""
    if isinstance(value, dict):
        return all(
            isinstance(name, str) and name.isascii() and _plain(item)
            for name, item in value.items()
        )
    if isinstance(value, list | tuple):
        return all(_plain(item) for item in value)
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return -(2**53) < value < 2**53  # beyond, JCS writes the float it stands for
    return isinstance(value, str)
