"""Errors of the vault, each with a stable ``code``.

::

VaultError            (.code: a stable string)
├── WrongPassphrase   the passphrase does not open this vault
└── DamagedData       a sealed value or the vault header was altered or is unreadable
"""

from __future__ import annotations


class VaultError(Exception):
    """Root of the vault's errors."""

    code = "vault_error"


class WrongPassphrase(VaultError):
    """The passphrase does not open this vault."""

    code = "wrong_passphrase"

    def __init__(self) -> None:
        super().__init__("wrong passphrase")


class DamagedData(VaultError):
    """A sealed value or the vault header was altered, truncated, or is not ours."""

    code = "damaged_data"
