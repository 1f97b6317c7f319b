"""Verification: every check a receiver makes before it trusts a message.

The checks run in the order docs/protocol.md specifies, cheapest refusals first and
the replay store last (so only messages that passed everything are remembered):

1. size            → oversize
2. compact form    → malformed
3. header, alg     → malformed / unsupported_algorithm
4. kid → key       → unresolvable_key
5. signature       → bad_signature
6. envelope        → malformed
7. kid vs from     → sender_mismatch
8. to              → wrong_recipient
9. times           → expired / created_in_future / lifetime_too_long
10. type           → unknown_type
11. body schema    → invalid_body
12. replay         → replay
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from pydantic import ValidationError

from vrm.protocol.did import did_from_kid, ed25519_from_did
from vrm.protocol.encoding import b64url_decode
from vrm.protocol.envelope import Envelope
from vrm.protocol.errors import ProtocolError, RefusalCode
from vrm.protocol.jws import decode_header, split_compact
from vrm.protocol.message import Message
from vrm.protocol.registry import MessageTypes
from vrm.protocol.replay import SeenIds, replay_key

DEFAULT_MAX_BYTES = 256 * 1024
DEFAULT_MAX_CLOCK_SKEW = 300
DEFAULT_MAX_LIFETIME = 30 * 24 * 3600
_HEADER_CACHE_LIMIT = 4096

Clock = Callable[[], float]


class Verifier:
    """Checks incoming messages for one receiver.

    Args:
        receiver: the DID messages must be addressed to, or a test of whether a DID
            is one of this receiver's (a person has one per relationship); None
            skips that check (for inspecting a message nobody in particular received).
        types: the message types this receiver understands.
        seen_ids: where accepted ids are remembered; None skips the replay check.
        clock: returns the current epoch time (injectable for tests).
        max_bytes: the largest message accepted (default 256 KiB).
        max_clock_skew: how far in the future ``created_time`` may be (default 300 s).
        max_lifetime: the longest ``expires_time - created_time`` accepted (default 30
            days); it bounds how long the replay store must keep an id.
        replays_kept_by_handler: message types whose handler keeps (sender, id) itself,
            in the same transaction as what it stores, and refuses a repeat as
            ``replay`` (the exchange's intents): they are neither looked up in nor
            written to ``seen_ids``.
    """

    def __init__(
        self,
        *,
        receiver: str | Callable[[str], bool] | None,
        types: MessageTypes,
        seen_ids: SeenIds | None,
        clock: Clock = time.time,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_clock_skew: int = DEFAULT_MAX_CLOCK_SKEW,
        max_lifetime: int = DEFAULT_MAX_LIFETIME,
        replays_kept_by_handler: Collection[str] = (),
    ) -> None:
        self.receiver = receiver
        self.types = types
        self.seen_ids = seen_ids
        self.clock = clock
        self.max_bytes = max_bytes
        self.max_clock_skew = max_clock_skew
        self.max_lifetime = max_lifetime
        self.replays_kept_by_handler = frozenset(replays_kept_by_handler)
        # Senders reuse one header for all their messages: decoding it and the key
        # once per sender instead of once per message is the largest saving here.
        self._headers: dict[str, tuple[dict[str, Any], str, VerifyKey]] = {}

    def verify(
        self, token: str | bytes, *, record: bool = True, replay_check: bool = True
    ) -> Message:
        """Return the verified message, or raise :class:`ProtocolError` saying why not.

        With ``record=False`` the replay check only looks: the caller records the
        message with :meth:`record` once it has handled it, so a message whose
        handling failed is let in again when its sender retries. With
        ``replay_check=False`` it is left out: the caller runs :meth:`check_replay`
        itself (where the store's round trip does not hold anything up).
        """
        if len(token) > self.max_bytes:
            raise ProtocolError(
                RefusalCode.OVERSIZE, f"message is larger than {self.max_bytes} bytes"
            )
        if isinstance(token, bytes):
            try:
                token = token.decode("ascii")
            except UnicodeDecodeError as exc:
                raise ProtocolError(RefusalCode.MALFORMED, "a compact JWS is ASCII") from exc
        parts = split_compact(token)
        header, signer_did, verify_key = self._resolve_header(parts.header_b64)
        try:
            verify_key.verify(parts.signing_input, parts.signature)
        except BadSignatureError as exc:
            raise ProtocolError(RefusalCode.BAD_SIGNATURE, "signature does not verify") from exc
        envelope = _parse_envelope(parts.payload_b64)
        self._check_envelope(envelope, signer_did)
        body = self._check_body(envelope)
        message = Message(envelope=envelope, body=body, compact=token, header=dict(header))
        if replay_check:
            self.check_replay(message, record=record)
        return message

    def check_replay(self, message: Message, *, record: bool = False) -> None:
        """Refuse a message already received (``replay``); with ``record``, remember it.

        Raises:
            ProtocolError: ``replay``.
        """
        if self.seen_ids is None or message.type in self.replays_kept_by_handler:
            return
        key = replay_key(message.sender, message.id)
        expires = message.envelope.expires_time
        seen = not self.seen_ids.remember(key, expires) if record else self.seen_ids.contains(key)
        if seen:
            raise ProtocolError(RefusalCode.REPLAY, f"message {message.id} was already received")

    def record(self, message: Message) -> bool:
        """Record a message verified with ``record=False``; False if it already was."""
        if self.seen_ids is None or message.type in self.replays_kept_by_handler:
            return True
        key = replay_key(message.sender, message.id)
        return self.seen_ids.remember(key, message.envelope.expires_time)

    def _resolve_header(self, header_b64: str) -> tuple[dict[str, Any], str, VerifyKey]:
        cached = self._headers.get(header_b64)
        if cached is not None:
            return cached
        header = decode_header(header_b64)
        signer_did = did_from_kid(header["kid"])
        verify_key = VerifyKey(ed25519_from_did(signer_did))
        if len(self._headers) >= _HEADER_CACHE_LIMIT:
            self._headers.clear()
        self._headers[header_b64] = (header, signer_did, verify_key)
        return header, signer_did, verify_key

    def _check_envelope(self, envelope: Envelope, signer_did: str) -> None:
        if envelope.from_ != signer_did:
            raise ProtocolError(
                RefusalCode.SENDER_MISMATCH, "the signing key (kid) is not the sender's (from)"
            )
        if not self._addressed_here(envelope.to):
            raise ProtocolError(
                RefusalCode.WRONG_RECIPIENT, "message is addressed to another party"
            )
        now = self.clock()
        if envelope.expires_time <= now:
            raise ProtocolError(RefusalCode.EXPIRED, f"message expired at {envelope.expires_time}")
        if envelope.created_time > now + self.max_clock_skew:
            raise ProtocolError(
                RefusalCode.CREATED_IN_FUTURE,
                f"created_time is more than {self.max_clock_skew} s ahead of this receiver's clock",
            )
        if envelope.expires_time - envelope.created_time > self.max_lifetime:
            raise ProtocolError(
                RefusalCode.LIFETIME_TOO_LONG,
                f"a message may live at most {self.max_lifetime} s",
            )

    def _addressed_here(self, to: str) -> bool:
        if self.receiver is None:
            return True
        if isinstance(self.receiver, str):
            return to == self.receiver
        return self.receiver(to)

    def _check_body(self, envelope: Envelope) -> Any:
        model = self.types.model_for(envelope.type)
        if model is None:
            raise ProtocolError(RefusalCode.UNKNOWN_TYPE, f"{envelope.type} is not understood here")
        try:
            return model.model_validate(envelope.body)
        except ValidationError as exc:
            raise ProtocolError(RefusalCode.INVALID_BODY, _first_error(exc)) from exc


def _parse_envelope(payload_b64: str) -> Envelope:
    try:
        return Envelope.model_validate_json(b64url_decode(payload_b64))
    except ValidationError as exc:
        raise ProtocolError(RefusalCode.MALFORMED, f"envelope: {_first_error(exc)}") from exc


def _first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"]) or "(root)"
    return f"{where}: {error['msg']}"
