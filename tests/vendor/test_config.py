"""The vendor's settings: the [terms] table, checked against the terms library."""

from __future__ import annotations

import pytest

from vrm.terms import library
from vrm.vendor.config import settings_from


def test_without_a_terms_table_every_agreement_and_term_is_accepted() -> None:
    """By default the vendor accepts the whole library, offers no alternative, decides nothing."""
    policy = settings_from({"name": "Shop"}).terms.policy()
    assert policy.accepts == {term.id for term in library().agreements}
    assert policy.accepts_additional == {term.id for term in library().terms}
    assert (policy.alternative, policy.manual) == (None, False)


def test_ids_are_taken_in_any_case_and_kept_as_the_library_writes_them() -> None:
    """``sd-base`` in the file is SD-BASE in the policy (and in discovery)."""
    settings = settings_from(
        {
            "name": "Shop",
            "terms": {
                "accepts": ["sd-base"],
                "accepts_additional": ["nostalking"],
                "alternative": "sd-base-dp",
                "manual": True,
            },
        }
    )
    policy = settings.terms.policy()
    assert policy.accepts == {"SD-BASE"}
    assert policy.accepts_additional == {"NoStalking"}
    assert (policy.alternative, policy.manual) == ("SD-BASE-DP", True)


def test_an_empty_list_accepts_nothing() -> None:
    """``accepts = []`` is a vendor that accepts no agreement as proffered."""
    settings = settings_from({"name": "Shop", "terms": {"accepts": [], "alternative": "SD-BASE"}})
    assert settings.terms.policy().accepts == frozenset()


@pytest.mark.parametrize(
    ("terms", "named"),
    [
        (
            {"accepts": ["SD-BASE", "SD-NOPE", "PDC-BAD"]},
            "terms.accepts: Value error, unknown agreement SD-NOPE, PDC-BAD",
        ),
        (
            {"accepts_additional": ["no-cookies"]},
            "terms.accepts_additional: Value error, unknown additional term no-cookies",
        ),
        (
            {"alternative": "NoStalking"},
            "terms.alternative: Value error, unknown agreement NoStalking",
        ),
        ({"accept": ["SD-BASE"]}, "terms.accept: Extra inputs are not permitted"),
    ],
)
def test_unknown_ids_and_keys_stop_the_start_naming_them(
    terms: dict[str, object], named: str
) -> None:
    """A term the library does not have (or a mistyped key) is named, with what is known."""
    with pytest.raises(ValueError, match=r"^vendor\.toml: ") as refused:
        settings_from({"name": "Shop", "terms": terms}, source="vendor.toml")
    assert named in str(refused.value)
