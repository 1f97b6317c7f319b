"""Sealing values with AES-256-GCM: confidentiality and integrity for each field.

A sealed value is ``version (1 byte) ‖ nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)``.
The caller passes *associated data* naming where the value belongs (table, column,
row, version); a value copied to another place no longer opens, so ciphertexts
cannot be swapped between fields or people.
"""

from __future__ import annotations

import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vrm.vault.errors import DamagedData

FORMAT_VERSION = 1
KEY_BYTES = 32
_NONCE_BYTES = 12
_HEADER = bytes([FORMAT_VERSION])
_FINGERPRINT_INFO = b"vrm/vault/fingerprint/v1"


class Sealer:
    """Seals and opens values under one 256-bit data key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("a data key is 32 bytes")
        self._aead = AESGCM(key)
        # A separate key for fingerprints, so they reveal nothing about the sealing key.
        self._fingerprint_key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=_FINGERPRINT_INFO
        ).derive(key)

    def fingerprint(self, text: str, purpose: str) -> bytes:
        """A 16-byte keyed digest of ``text``: equal texts match, nobody else can compute it.

        Lets a store look values up (a profile field's path, say) without keeping them
        in clear.
        """
        return self.mac(text.encode(), purpose)[:16]

    def mac(self, data: bytes, purpose: str) -> bytes:
        """A 32-byte HMAC-SHA256 of ``data`` for ``purpose``, keyed from the data key."""
        return hmac.new(self._fingerprint_key, purpose.encode() + b"\0" + data, "sha256").digest()

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        """Encrypt ``plaintext`` for the place ``context`` names."""
        # Random 96-bit nonces: safe for far more than 2^32 values per key (NIST SP 800-38D).
        nonce = os.urandom(_NONCE_BYTES)
        return _HEADER + nonce + self._aead.encrypt(nonce, plaintext, _HEADER + context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        """Decrypt a value sealed for ``context``.

        Raises:
            DamagedData: the value was altered, belongs elsewhere, or is not ours.
        """
        if len(sealed) < 1 + _NONCE_BYTES + 16 or sealed[:1] != _HEADER:
            raise DamagedData("not a sealed value of a known format")
        nonce, body = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, _HEADER + context)
        except InvalidTag as exc:
            raise DamagedData("sealed value does not open: altered or misplaced") from exc

    def seal_text(self, text: str, context: str) -> bytes:
        """Seal UTF-8 text."""
        return self.seal(text.encode(), context.encode())

    def open_text(self, sealed: bytes, context: str) -> str:
        """Open a value sealed with :meth:`seal_text`."""
        return self.open(sealed, context.encode()).decode()
