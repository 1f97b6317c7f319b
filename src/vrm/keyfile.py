"""A service's identity kept in a key file (the vendor endpoint's, a protocol peer's)."""

from __future__ import annotations

import os
from pathlib import Path

from vrm.protocol import Identity

SEED_FILE = "identity.seed"


def load_or_create_identity(home: Path) -> Identity:
    """Return the identity kept in ``home``, creating one (mode 0600) the first time."""
    home.mkdir(parents=True, exist_ok=True)
    seed_path = home / SEED_FILE
    if seed_path.exists():
        try:
            return Identity.from_seed(seed_path.read_bytes())
        except ValueError as exc:
            raise ValueError(f"{seed_path} is not an identity seed (32 bytes)") from exc
    identity = Identity.generate()
    descriptor = os.open(seed_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as seed_file:
        seed_file.write(identity.seed)
    return identity
