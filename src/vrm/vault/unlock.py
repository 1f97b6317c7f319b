"""Opening the vault with a passphrase: Argon2id, and a wrapped data key.

The data key that seals every value is random; what the passphrase derives
(Argon2id, RFC 9106) is only the key that wraps it. So changing the passphrase
re-wraps 32 bytes instead of re-encrypting the whole store, and the header that
is stored beside the data holds no secret: salt, cost parameters, and the data
key sealed under the passphrase key.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import Any

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from vrm.vault.errors import DamagedData, WrongPassphrase
from vrm.vault.sealing import KEY_BYTES, Sealer

HEADER_VERSION = 1
_WRAP_CONTEXT = b"vrm/vault/data-key/v1"
_SALT_BYTES = 16


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost parameters.

    The default is RFC 9106's second recommended option (3 passes, 64 MiB, 4 lanes):
    about a third of a second on a laptop core, and memory-hard for an attacker.
    """

    iterations: int = 3
    memory_kib: int = 64 * 1024
    lanes: int = 4

    def derive(self, passphrase: str, salt: bytes) -> bytes:
        """Derive the 32-byte key-wrapping key."""
        return Argon2id(
            salt=salt,
            length=KEY_BYTES,
            iterations=self.iterations,
            lanes=self.lanes,
            memory_cost=self.memory_kib,
        ).derive(passphrase.encode())


# Only for tests: a vault that opens in microseconds and protects nothing.
FAST_INSECURE_KDF = KdfParams(iterations=1, memory_kib=8, lanes=1)


@dataclass(frozen=True)
class VaultHeader:
    """What is stored beside the sealed data to open it again (no secret in it)."""

    salt: bytes
    kdf: KdfParams
    wrapped_key: bytes

    def to_json(self) -> str:
        """Serialise for storage."""
        return json.dumps(
            {
                "version": HEADER_VERSION,
                "kdf": {"name": "argon2id", **asdict(self.kdf)},
                "salt": self.salt.hex(),
                "wrapped_key": self.wrapped_key.hex(),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> VaultHeader:
        """Read a stored header.

        Raises:
            DamagedData: the header is not one this version can read.
        """
        try:
            data: dict[str, Any] = json.loads(text)
            kdf = data["kdf"]
            if data["version"] != HEADER_VERSION or kdf.pop("name") != "argon2id":
                raise DamagedData("vault header of an unknown version")
            return cls(
                salt=bytes.fromhex(data["salt"]),
                kdf=KdfParams(**kdf),
                wrapped_key=bytes.fromhex(data["wrapped_key"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DamagedData("vault header is unreadable") from exc


def create_vault(passphrase: str, *, kdf: KdfParams | None = None) -> tuple[VaultHeader, Sealer]:
    """Create a new vault: a fresh data key wrapped under ``passphrase``."""
    if not passphrase:
        raise ValueError("the passphrase must not be empty")
    params = kdf or KdfParams()
    data_key = os.urandom(KEY_BYTES)
    return _wrap(data_key, passphrase, params), Sealer(data_key)


def unlock_vault(header: VaultHeader, passphrase: str) -> Sealer:
    """Open the vault with ``passphrase``.

    Raises:
        WrongPassphrase: the passphrase is not this vault's (or the header was altered).
    """
    return Sealer(_unwrap(header, passphrase))


def change_passphrase(header: VaultHeader, old: str, new: str) -> VaultHeader:
    """Re-wrap the data key under ``new``; everything sealed stays readable."""
    if not new:
        raise ValueError("the passphrase must not be empty")
    return _wrap(_unwrap(header, old), new, header.kdf)


def _wrap(data_key: bytes, passphrase: str, kdf: KdfParams) -> VaultHeader:
    salt = os.urandom(_SALT_BYTES)
    wrapping = Sealer(kdf.derive(passphrase, salt))
    # The cost parameters are bound to the wrapped key, so lowering them in a stored
    # header makes it fail to open instead of silently weakening it.
    header = VaultHeader(salt=salt, kdf=kdf, wrapped_key=b"")
    return VaultHeader(salt=salt, kdf=kdf, wrapped_key=wrapping.seal(data_key, _context(header)))


def _unwrap(header: VaultHeader, passphrase: str) -> bytes:
    wrapping = Sealer(header.kdf.derive(passphrase, header.salt))
    try:
        return wrapping.open(header.wrapped_key, _context(header))
    except DamagedData as exc:
        raise WrongPassphrase from exc


def _context(header: VaultHeader) -> bytes:
    params = header.kdf
    return b"%s|%d|%d|%d|%s" % (
        _WRAP_CONTEXT,
        params.iterations,
        params.memory_kib,
        params.lanes,
        header.salt.hex().encode(),
    )
