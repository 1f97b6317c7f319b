"""The agent's sign-in check: the passphrase must open the vault, as ``vrm up`` does.

How attempts are slowed (one at a time, a pause after each wrong one, a lockout)
is :class:`vrm.web.sign_in.SignInGuard`'s, shared with the vendor's console.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from vrm.agent.keystore import unlock
from vrm.vault import WrongPassphrase


def passphrase_opens(engine: Engine) -> Callable[[str], bool]:
    """A check that is True when a passphrase unlocks the agent stored in ``engine``."""

    def check(passphrase: str) -> bool:
        if not passphrase:
            return False
        try:
            unlock(engine, passphrase)
        except WrongPassphrase:
            return False
        return True

    return check
