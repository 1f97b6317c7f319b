"""Which paths name fields, and which values each field takes."""

from __future__ import annotations

import datetime as dt

import pytest

from vrm.agent.profile.fields import InvalidField, check_path, check_value


@pytest.mark.parametrize(
    "path",
    [
        "name.given",
        "name.family",
        "email.primary",
        "email.grandmas-house",
        "phone.mobile",
        "address.home",
        "address.shipping",
        "birth_date",
        "language",
        "preference.shoe_size",
    ],
)
def test_valid_paths(path: str) -> None:
    """Stable paths for names, labelled emails/phones/addresses, dates, language, preferences."""
    assert check_path(path) == path


@pytest.mark.parametrize(
    "path",
    ["", "name", "name.middle", "email", "email.", "email.Work", "address.home.street", "shoe"],
)
def test_invalid_paths(path: str) -> None:
    """Anything else is refused with a message listing the valid forms."""
    with pytest.raises(InvalidField, match="not a profile field"):
        check_path(path)


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("email.primary", " alice@example.org ", "alice@example.org"),
        ("phone.mobile", "+44 20 7946 0000", "+44 20 7946 0000"),
        ("language", "pt-BR", "pt-BR"),
        ("birth_date", "1990-04-01", "1990-04-01"),
        ("preference.diet", "vegetarian", "vegetarian"),
        (
            "address.home",
            {"streetAddress": "1 Main St", "postalCode": "12345", "addressCountry": "US"},
            {"streetAddress": "1 Main St", "postalCode": "12345", "addressCountry": "US"},
        ),
    ],
)
def test_valid_values_are_normalised(path: str, value: object, expected: object) -> None:
    """Values are checked for their kind and stored in one canonical form."""
    assert check_value(path, value, today=dt.date(2026, 11, 23)) == expected


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("email.primary", "alice"),
        ("email.primary", "a@b"),
        ("phone.mobile", "call me"),
        ("language", "english please"),
        ("birth_date", "01/04/1990"),
        ("birth_date", "2026-11-24"),
        ("name.given", ""),
        ("name.given", "x" * 501),
        ("name.given", 42),
        ("address.home", {}),
        ("address.home", {"addressCountry": "United States"}),
        ("address.home", {"street": "1 Main St"}),
        ("address.home", "1 Main St"),
    ],
)
def test_invalid_values_are_refused(path: str, value: object) -> None:
    """A value of the wrong kind is refused, never stored."""
    with pytest.raises(InvalidField):
        check_value(path, value, today=dt.date(2026, 11, 23))
