"""The vault: a passphrase opens it, and each sealed value opens only where it belongs."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

from vrm.vault import (
    FAST_INSECURE_KDF,
    DamagedData,
    KdfParams,
    Sealer,
    VaultHeader,
    WrongPassphrase,
    change_passphrase,
    create_vault,
    unlock_vault,
)


def test_sealed_text_opens_with_its_context() -> None:
    """A value sealed for a place opens there, and its plaintext is not in the ciphertext."""
    _, sealer = create_vault("correct horse", kdf=FAST_INSECURE_KDF)
    sealed = sealer.seal_text("1 Main Street, Springfield", "profile/address.home/1")
    assert b"Main Street" not in sealed
    assert sealer.open_text(sealed, "profile/address.home/1") == "1 Main Street, Springfield"


def test_same_value_seals_differently_each_time() -> None:
    """Sealing the same value twice gives different bytes (no equality leaks)."""
    _, sealer = create_vault("correct horse", kdf=FAST_INSECURE_KDF)
    assert sealer.seal_text("x", "c") != sealer.seal_text("x", "c")


def test_value_moved_to_another_place_does_not_open() -> None:
    """A ciphertext copied to another field or row is refused, not decrypted."""
    _, sealer = create_vault("correct horse", kdf=FAST_INSECURE_KDF)
    sealed = sealer.seal_text("alice@example.org", "profile/email.primary/1")
    with pytest.raises(DamagedData):
        sealer.open_text(sealed, "profile/email.work/1")


@pytest.mark.parametrize("position", [0, 1, 12, 13, -1])
def test_altered_value_does_not_open(position: int) -> None:
    """Changing any part of a sealed value (version, nonce, body, tag) is detected."""
    _, sealer = create_vault("correct horse", kdf=FAST_INSECURE_KDF)
    sealed = bytearray(sealer.seal_text("secret", "c"))
    sealed[position] ^= 0x01
    with pytest.raises(DamagedData):
        sealer.open_text(bytes(sealed), "c")


def test_truncated_value_does_not_open() -> None:
    """A value too short to be sealed is refused."""
    _, sealer = create_vault("correct horse", kdf=FAST_INSECURE_KDF)
    with pytest.raises(DamagedData):
        sealer.open(b"\x01short", b"c")


def test_header_round_trip_unlocks_with_the_passphrase() -> None:
    """The stored header, read back, opens with the passphrase and reads old values."""
    header, sealer = create_vault("correct horse", kdf=FAST_INSECURE_KDF)
    sealed = sealer.seal_text("+44 20 7946 0000", "profile/phone.mobile/1")
    reopened = unlock_vault(VaultHeader.from_json(header.to_json()), "correct horse")
    assert reopened.open_text(sealed, "profile/phone.mobile/1") == "+44 20 7946 0000"


def test_wrong_passphrase_is_refused() -> None:
    """Another passphrase gives WrongPassphrase, with a stable code for the CLI and API."""
    header, _ = create_vault("correct horse", kdf=FAST_INSECURE_KDF)
    with pytest.raises(WrongPassphrase) as refused:
        unlock_vault(header, "battery staple")
    assert refused.value.code == "wrong_passphrase"


def test_header_holds_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stored header contains neither the data key nor the passphrase."""
    known_key = bytes(range(32))
    real_urandom = os.urandom
    monkeypatch.setattr(
        "vrm.vault.unlock.os.urandom", lambda n: known_key if n == 32 else real_urandom(n)
    )
    header, sealer = create_vault("correct horse", kdf=FAST_INSECURE_KDF)
    assert Sealer(known_key).open_text(sealer.seal_text("v", "c"), "c") == "v"
    stored = header.to_json()
    assert "correct horse" not in stored
    assert known_key.hex() not in stored


def test_weakened_cost_parameters_do_not_open() -> None:
    """Lowering the Argon2id cost in a stored header makes it fail, not silently weaker."""
    header, _ = create_vault("pw", kdf=KdfParams(iterations=2, memory_kib=8, lanes=1))
    weakened = dataclasses.replace(header, kdf=KdfParams(iterations=1, memory_kib=8, lanes=1))
    with pytest.raises(WrongPassphrase):
        unlock_vault(weakened, "pw")


def test_changing_the_passphrase_keeps_the_data() -> None:
    """After a passphrase change the new one opens old values and the old one no longer does."""
    header, sealer = create_vault("old passphrase", kdf=FAST_INSECURE_KDF)
    sealed = sealer.seal_text("1990-04-01", "profile/birth_date/1")
    changed = change_passphrase(header, "old passphrase", "new passphrase")
    assert unlock_vault(changed, "new passphrase").open_text(sealed, "profile/birth_date/1") == (
        "1990-04-01"
    )
    with pytest.raises(WrongPassphrase):
        unlock_vault(changed, "old passphrase")


def test_change_needs_the_old_passphrase() -> None:
    """The passphrase cannot be changed without knowing the current one."""
    header, _ = create_vault("old passphrase", kdf=FAST_INSECURE_KDF)
    with pytest.raises(WrongPassphrase):
        change_passphrase(header, "guess", "new passphrase")


def test_empty_passphrase_is_refused() -> None:
    """A vault cannot be created or re-keyed with an empty passphrase."""
    with pytest.raises(ValueError, match="empty"):
        create_vault("", kdf=FAST_INSECURE_KDF)
    header, _ = create_vault("pw", kdf=FAST_INSECURE_KDF)
    with pytest.raises(ValueError, match="empty"):
        change_passphrase(header, "pw", "")


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "{}",
        json.dumps({"version": 99, "kdf": {"name": "argon2id"}, "salt": "", "wrapped_key": ""}),
        json.dumps(
            {
                "version": 1,
                "kdf": {"name": "scrypt", "iterations": 1, "memory_kib": 8, "lanes": 1},
                "salt": "00",
                "wrapped_key": "00",
            }
        ),
        json.dumps(
            {
                "version": 1,
                "kdf": {"name": "argon2id", "iterations": 1, "memory_kib": 8, "lanes": 1},
                "salt": "zz",
                "wrapped_key": "00",
            }
        ),
    ],
)
def test_unreadable_header_is_damaged_data(text: str) -> None:
    """A header this version cannot read is reported as damaged, never a crash."""
    with pytest.raises(DamagedData):
        VaultHeader.from_json(text)


def test_default_cost_is_rfc9106_second_option() -> None:
    """New vaults use Argon2id with 3 passes, 64 MiB and 4 lanes unless told otherwise."""
    assert KdfParams() == KdfParams(iterations=3, memory_kib=65536, lanes=4)


def test_data_key_must_be_256_bits() -> None:
    """A sealer refuses a key of the wrong size."""
    with pytest.raises(ValueError, match="32 bytes"):
        Sealer(b"short")
