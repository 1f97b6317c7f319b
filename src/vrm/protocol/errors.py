"""Refusals raised by the protocol.

Every refusal is a :class:`ProtocolError` carrying one stable :class:`RefusalCode`.
The codes are part of the protocol (docs/protocol.md lists them); transports map
them to their own status codes, the protocol itself knows nothing of HTTP::

    ProtocolError
    └── carries .code: RefusalCode and .detail: str
"""

from __future__ import annotations

from enum import StrEnum


class RefusalCode(StrEnum):
    """Why a message was refused. The values never change once published."""

    MALFORMED = "malformed"
    OVERSIZE = "oversize"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    UNRESOLVABLE_KEY = "unresolvable_key"
    BAD_SIGNATURE = "bad_signature"
    SENDER_MISMATCH = "sender_mismatch"
    WRONG_RECIPIENT = "wrong_recipient"
    EXPIRED = "expired"
    LIFETIME_TOO_LONG = "lifetime_too_long"
    CREATED_IN_FUTURE = "created_in_future"
    UNKNOWN_TYPE = "unknown_type"
    INVALID_BODY = "invalid_body"
    REPLAY = "replay"
    UNDECRYPTABLE = "undecryptable"
    NO_AGREEMENT = "no_agreement"


class ProtocolError(Exception):
    """A message, key or identifier the protocol refuses."""

    def __init__(self, code: RefusalCode, detail: str) -> None:
        super().__init__(f"{code.value}: {detail}")
        self.code = code
        self.detail = detail
