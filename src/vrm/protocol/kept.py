"""Verifying a message kept since it arrived: signed then, still signed now.

A message is valid for a short lifetime so that receivers can refuse replays; a
message someone kept (a vendor's signed export, say) is checked later as of the
time it was created: signature, sender, recipient and body are checked again.
"""

from __future__ import annotations

import json

from vrm.protocol.encoding import b64url_decode
from vrm.protocol.errors import ProtocolError, RefusalCode
from vrm.protocol.message import Message
from vrm.protocol.registry import MessageTypes
from vrm.protocol.v1.relationships import relationship_types
from vrm.protocol.verify import Verifier


def verify_kept(token: str, *, receiver: str, types: MessageTypes | None = None) -> Message:
    """Verify a kept compact JWS as of its ``created_time``.

    Raises:
        ProtocolError: it does not verify (tampered, another sender's key, …).
    """
    try:
        created = json.loads(b64url_decode(token.split(".")[1]))["created_time"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ProtocolError(RefusalCode.MALFORMED, "not a kept vrm message") from exc
    if not isinstance(created, int):
        raise ProtocolError(RefusalCode.MALFORMED, "created_time is not a number")
    verifier = Verifier(
        receiver=receiver,
        types=types or relationship_types(),
        seen_ids=None,
        clock=lambda: created,
    )
    return verifier.verify(token)
