"""Browser sessions: a random id in a cookie, everything else in this process's memory.

Sessions live in memory rather than in a signed cookie: the agent is one process,
so there is nothing to share between servers; signing out (or stopping the agent)
really ends a session instead of waiting for a signed cookie to expire; and there is
no signing key to keep. A visitor to the sign-in page gets a session too, not yet
signed in, so that the sign-in form carries a CSRF token like every other form.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

COOKIE = "vrm_session"
IDLE_LIMIT = 30 * 60.0
"""A session unused this long (seconds) is over."""
LIFETIME = 12 * 3600.0
"""No session outlives this (seconds), however busy."""
MAX_SESSIONS = 1000
"""At most this many sessions are kept; the least recently used go first."""


@dataclass
class Session:
    """One browser's session: its CSRF token and whether the person signed in."""

    id: str
    csrf_token: str
    created_at: float
    last_seen: float
    signed_in: bool = False


@dataclass
class SessionStore:
    """The sessions of this process, by id."""

    clock: Callable[[], float] = time.monotonic
    idle_limit: float = IDLE_LIMIT
    lifetime: float = LIFETIME
    max_sessions: int = MAX_SESSIONS
    _sessions: dict[str, Session] = field(default_factory=dict)

    def start(self, *, signed_in: bool = False) -> Session:
        """A new session with a fresh id and CSRF token."""
        now = self.clock()
        self._prune(now)
        session = Session(
            id=secrets.token_urlsafe(32),
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen=now,
            signed_in=signed_in,
        )
        self._sessions[session.id] = session
        return session

    def find(self, session_id: str | None) -> Session | None:
        """The live session with this id, marked as used now; None when there is none."""
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        now = self.clock()
        if session is None or self._over(session, now):
            self._sessions.pop(session_id, None)
            return None
        session.last_seen = now
        return session

    def end(self, session_id: str) -> None:
        """Forget the session (sign-out)."""
        self._sessions.pop(session_id, None)

    def _over(self, session: Session, now: float) -> bool:
        return now - session.last_seen > self.idle_limit or now - session.created_at > self.lifetime

    def _prune(self, now: float) -> None:
        for over in [s.id for s in self._sessions.values() if self._over(s, now)]:
            del self._sessions[over]
        while len(self._sessions) >= self.max_sessions:
            # Visitors of the sign-in page go before the person: no one can push them out.
            oldest = min(self._sessions.values(), key=lambda s: (s.signed_in, s.last_seen))
            del self._sessions[oldest.id]
