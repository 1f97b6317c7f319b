"""Obligations: combining terms keeps the most protective value; weaker ones are named."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import ValidationError

from vrm.terms import Obligations, Term, library

COMPLETE: dict[str, Any] = {
    "tracking": "none",
    "sharing": "processors",
    "resale": "forbidden",
    "retention": "purpose",
    "data_access": False,
    "delete_on_end": False,
    "ai_training": "forbidden",
    "use": ("service",),
}


def term(kind: Literal["agreement", "term"], **obligations: Any) -> Term:
    return Term(
        id="Test",
        version="1",
        kind=kind,
        title="A test term",
        summary="For tests.",
        text=("Nothing.",),
        obligations=Obligations(**obligations),
    )


@pytest.mark.parametrize(
    ("name", "one", "other", "most_protective"),
    [
        ("tracking", "none", "any", "none"),
        ("tracking", "first-party", "any", "first-party"),
        ("sharing", "processors", "any", "processors"),
        ("sharing", "none", "processors", "none"),
        ("resale", "allowed", "forbidden", "forbidden"),
        ("retention", "relationship", "purpose", "purpose"),
        ("retention", "any", "relationship", "relationship"),
        ("data_access", False, True, True),
        ("delete_on_end", False, True, True),
        ("ai_training", "allowed", "anonymised", "anonymised"),
        ("ai_training", "forbidden", "allowed", "forbidden"),
        ("tracking", None, "any", "any"),
        ("data_access", None, False, False),
        ("tracking", None, None, None),
    ],
)
def test_combined_keeps_the_most_protective_value(
    name: str, one: Any, other: Any, most_protective: Any
) -> None:
    """Whichever side sets the stronger value wins, in either order; unset defers to set."""
    a, b = Obligations(**{name: one}), Obligations(**{name: other})

    assert getattr(a.combined(b), name) == most_protective
    assert getattr(b.combined(a), name) == most_protective


def test_combined_use_is_the_purposes_both_allow() -> None:
    """``use`` combines as an intersection: a purpose survives only if every side allows it."""
    broad = Obligations(use=("service", "intent", "marketing"))
    narrow = Obligations(use=("intent", "service"))

    assert broad.combined(narrow).use == ("service", "intent")
    assert broad.combined(Obligations(use=("public-good",))).use == ()
    assert broad.combined(Obligations()).use == broad.use


def test_combined_leaves_untouched_obligations_as_they_were() -> None:
    """An additional term changes only the obligations it sets."""
    agreement = Obligations(**COMPLETE)

    combined = agreement.combined(Obligations(delete_on_end=True))

    assert combined == Obligations(**{**COMPLETE, "delete_on_end": True})


@pytest.mark.parametrize(
    ("given", "wanted", "weaker"),
    [
        pytest.param(COMPLETE, COMPLETE, [], id="the same"),
        pytest.param(
            {**COMPLETE, "data_access": True, "delete_on_end": True},
            COMPLETE,
            [],
            id="more protective",
        ),
        pytest.param(COMPLETE, {**COMPLETE, "data_access": True}, ["data_access"], id="one"),
        pytest.param(
            {**COMPLETE, "tracking": "any", "sharing": "any", "ai_training": "anonymised"},
            COMPLETE,
            ["tracking", "sharing", "ai_training"],
            id="several, in vocabulary order",
        ),
        pytest.param(
            {**COMPLETE, "use": ("service", "marketing")},
            COMPLETE,
            ["use"],
            id="a purpose more",
        ),
        pytest.param(
            {**COMPLETE, "use": ()},
            COMPLETE,
            [],
            id="a purpose fewer",
        ),
        pytest.param({}, {"tracking": "none"}, ["tracking"], id="asked but not given"),
        pytest.param({"tracking": "any"}, {}, [], id="not asked"),
    ],
)
def test_weaker_than_lists_exactly_the_weaker_obligations(
    given: dict[str, Any], wanted: dict[str, Any], weaker: list[str]
) -> None:
    """Only the obligations that protect less than asked are named."""
    assert Obligations(**given).weaker_than(Obligations(**wanted)) == weaker


def test_weaker_than_compares_shipped_agreements() -> None:
    """SD-BASE gives less than SD-BASE-DP only in data access; the reverse gives no less."""
    sd_base = library().agreement("SD-BASE").obligations
    portable = library().agreement("SD-BASE-DP").obligations

    assert sd_base.weaker_than(portable) == ["data_access"]
    assert portable.weaker_than(sd_base) == []


def test_complete_obligations_are_complete() -> None:
    """An agreement's obligations, all set, count as complete; one missing does not."""
    assert Obligations(**COMPLETE).is_complete()
    assert not Obligations(**{**COMPLETE, "retention": None}).is_complete()


@pytest.mark.parametrize("missing", sorted(COMPLETE))
def test_an_agreement_must_set_every_obligation(missing: str) -> None:
    """The library refuses an agreement that leaves any obligation open."""
    obligations = {k: v for k, v in COMPLETE.items() if k != missing}

    with pytest.raises(ValidationError, match="agreement Test must set every obligation"):
        term("agreement", **obligations)


def test_an_additional_term_must_set_some_obligation() -> None:
    """An additional term that constrains nothing is refused."""
    with pytest.raises(ValidationError, match="term Test must set at least one obligation"):
        term("term")


def test_unknown_obligations_and_values_are_refused() -> None:
    """Obligations outside the vocabulary are refused rather than ignored."""
    with pytest.raises(ValidationError):
        Obligations.model_validate({"tracking": "sometimes"})
    with pytest.raises(ValidationError):
        Obligations.model_validate({"profiling": "none"})
