"""Encryption at rest: a passphrase opens the vault, the vault seals each value.

    header, sealer = create_vault(passphrase)      # store header.to_json() beside the data
    sealed = sealer.seal_text("1 Main St", "profile/address.home/v3")
    sealer = unlock_vault(VaultHeader.from_json(stored), passphrase)

No network, no database: the stores decide where headers and sealed values live.
"""

from vrm.vault.errors import DamagedData, VaultError, WrongPassphrase
from vrm.vault.sealing import Sealer
from vrm.vault.unlock import (
    FAST_INSECURE_KDF,
    KdfParams,
    VaultHeader,
    change_passphrase,
    create_vault,
    unlock_vault,
)

__all__ = [
    "FAST_INSECURE_KDF",
    "DamagedData",
    "KdfParams",
    "Sealer",
    "VaultError",
    "VaultHeader",
    "WrongPassphrase",
    "change_passphrase",
    "create_vault",
    "unlock_vault",
]
