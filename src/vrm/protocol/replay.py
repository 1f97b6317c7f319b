"""The seen-ids store that turns a replayed message into a refusal.

A receiver remembers the id of every message it accepted until that message
expires; after expiry the envelope check refuses the message anyway, so the id
can be forgotten. Persistent stores live beside the protocol
(:mod:`vrm.transport.seen_ids`); :class:`MemorySeenIds` is for tests and tools.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from typing import Protocol


def replay_key(sender: str, message_id: str) -> str:
    """The key a message is remembered by: its id, scoped to its sender.

    Scoping by sender means no party can block another's message by sending its own
    with the same id first.
    """
    return f"{sender} {message_id}"


class SeenIds(Protocol):
    """Where a receiver remembers the message ids it has accepted."""

    def remember(self, message_key: str, expires_time: int) -> bool:
        """Record ``message_key`` until ``expires_time``; False if it was already there."""
        ...

    def contains(self, message_key: str) -> bool:
        """True when ``message_key`` is recorded."""
        ...


class MemorySeenIds:
    """Seen ids kept in memory, pruned as they expire. Lost on restart."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._expiry: dict[str, int] = {}
        self._heap: list[tuple[int, str]] = []
        self._clock = clock

    def remember(self, message_key: str, expires_time: int) -> bool:
        """Record ``message_key``; False if it was already there."""
        self._prune()
        if message_key in self._expiry:
            return False
        self._expiry[message_key] = expires_time
        heapq.heappush(self._heap, (expires_time, message_key))
        return True

    def contains(self, message_key: str) -> bool:
        """True when ``message_key`` is recorded."""
        self._prune()
        return message_key in self._expiry

    def __len__(self) -> int:
        return len(self._expiry)

    def _prune(self) -> None:
        now = self._clock()
        while self._heap and self._heap[0][0] < now:
            expires, message_id = heapq.heappop(self._heap)
            if self._expiry.get(message_id) == expires:
                del self._expiry[message_id]
