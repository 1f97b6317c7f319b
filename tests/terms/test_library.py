"""The terms library vrm ships: the IEEE 7012 roster and the additional terms."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from vrm.terms import Library, UnknownTerm, library

ROSTER = ["SD-BASE", "SD-BASE-DP", "PDC-AI", "PDC-GOOD", "PDC-INTENT"]
ADDITIONAL = ["NoStalking", "delete-on-end", "mine-too", "no-resale"]


def test_the_roster_is_the_five_ieee_7012_agreements_in_order() -> None:
    """The shipped library holds the five roster agreements, in the roster's order."""
    assert [term.id for term in library().agreements] == ROSTER
    assert all(term.kind == "agreement" for term in library().agreements)


def test_the_additional_terms_are_shipped() -> None:
    """The four additional terms a person can add are shipped, as terms."""
    assert [term.id for term in library().terms] == ADDITIONAL
    assert all(term.kind == "term" for term in library().terms)


def test_every_agreement_sets_every_obligation() -> None:
    """Each roster agreement says where it stands on every obligation."""
    for agreement in library().agreements:
        assert agreement.obligations.is_complete(), agreement.id


def test_every_id_is_unique_in_any_letter_case() -> None:
    """No two agreements or terms share an id, even differing only in case."""
    ids = [term.id.casefold() for term in (*library().agreements, *library().terms)]

    assert len(ids) == len(set(ids))


def test_every_term_says_where_it_comes_from() -> None:
    """Each shipped term names its source, as docs/terms.md describes."""
    for term in (*library().agreements, *library().terms):
        assert term.source is not None, term.id
        assert term.source.name in {"IEEE 7012-2025 roster", "Customer Commons", "vrm"}


@pytest.mark.parametrize(
    ("lookup", "asked", "found"),
    [
        ("agreement", "sd-base-dp", "SD-BASE-DP"),
        ("agreement", " PDC-AI ", "PDC-AI"),
        ("term", "NOSTALKING", "NoStalking"),
        ("any", "Mine-Too", "mine-too"),
        ("any", "pdc-good", "PDC-GOOD"),
    ],
)
def test_lookups_ignore_letter_case(lookup: str, asked: str, found: str) -> None:
    """Ids are found whatever their letter case (and surrounding spaces)."""
    assert getattr(library(), lookup)(asked).id == found


def test_an_unknown_agreement_names_the_known_ones() -> None:
    """Asking for an unknown agreement says which ones exist."""
    with pytest.raises(UnknownTerm, match="no agreement 'SD-MAX'") as caught:
        library().agreement("SD-MAX")

    assert all(term_id in str(caught.value) for term_id in ROSTER)


def test_an_additional_term_is_not_an_agreement() -> None:
    """An additional term's id does not find an agreement, and the other way round."""
    with pytest.raises(UnknownTerm, match="no agreement 'NoStalking'"):
        library().agreement("NoStalking")
    with pytest.raises(UnknownTerm) as caught:
        library().term("SD-BASE")

    assert all(term_id in str(caught.value) for term_id in ADDITIONAL)


def test_a_library_refuses_a_duplicate_id() -> None:
    """A library listing one id twice is refused."""
    shipped = library()
    shouted = shipped.terms[0].model_copy(update={"id": shipped.terms[0].id.upper()})

    with pytest.raises(ValidationError, match="term ids must be unique"):
        Library(agreements=shipped.agreements, terms=(*shipped.terms, shouted))


def test_a_library_refuses_terms_in_the_wrong_list() -> None:
    """Agreements and additional terms each go in their own list."""
    shipped = library()

    with pytest.raises(ValidationError, match="the agreements list holds only agreements"):
        Library(agreements=(*shipped.agreements, shipped.terms[0]), terms=())
    with pytest.raises(ValidationError, match="the terms list holds only additional terms"):
        Library(agreements=(), terms=(shipped.agreements[0],))
