"""A party's key pair: Ed25519 for signing, X25519 (derived) for encryption."""

from __future__ import annotations

from functools import cached_property

from nacl.signing import SigningKey

from vrm.protocol.did import did_from_ed25519, key_agreement_kid, kid_for


class Identity:
    """An Ed25519 key pair and the did:key it is known by.

    The 32-byte seed is the only secret; everything else derives from it.
    """

    def __init__(self, signing_key: SigningKey) -> None:
        self._signing_key = signing_key

    @classmethod
    def generate(cls) -> Identity:
        """Create a fresh random identity."""
        return cls(SigningKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> Identity:
        """Rebuild an identity from its 32-byte seed."""
        if len(seed) != 32:
            raise ValueError("an Ed25519 seed is 32 bytes")
        return cls(SigningKey(seed))

    @property
    def seed(self) -> bytes:
        """The 32-byte secret seed. Store it encrypted."""
        return bytes(self._signing_key)

    @cached_property
    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        return bytes(self._signing_key.verify_key)

    @cached_property
    def did(self) -> str:
        """The did:key naming this identity."""
        return did_from_ed25519(self.public_key)

    @cached_property
    def kid(self) -> str:
        """The verification method id used as the JWS ``kid``."""
        return kid_for(self.did)

    @cached_property
    def key_agreement_kid(self) -> str:
        """The id of the derived X25519 key, used as the JWE ``kid``."""
        return key_agreement_kid(self.did)

    @cached_property
    def x25519_private_key(self) -> bytes:
        """The raw X25519 private key derived from the signing key."""
        return bytes(self._signing_key.to_curve25519_private_key())

    def sign(self, data: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``data``."""
        return bytes(self._signing_key.sign(data).signature)

    def __repr__(self) -> str:
        return f"Identity({self.did})"
