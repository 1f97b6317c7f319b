"""How a vendor answers proffered terms, and how the person's agent judges an alternative."""

from __future__ import annotations

import pytest

from vrm.terms import AlternativeRule, Answer, Terms, VendorTermsPolicy, judge_alternative, library


def terms(agreement: str, *additional: str) -> Terms:
    return Terms(
        agreement=library().agreement(agreement),
        additional=tuple(library().term(term_id) for term_id in additional),
    )


SELECTIVE = VendorTermsPolicy(
    accepts=frozenset({"SD-BASE", "SD-BASE-DP"}),
    accepts_additional=frozenset({"NoStalking"}),
    alternative="SD-BASE",
)


@pytest.mark.parametrize(
    ("policy", "proffered", "answer"),
    [
        pytest.param(SELECTIVE, terms("SD-BASE"), Answer.ACCEPTED, id="listed agreement"),
        pytest.param(
            SELECTIVE,
            terms("SD-BASE-DP", "NoStalking"),
            Answer.ACCEPTED,
            id="listed agreement and term",
        ),
        pytest.param(SELECTIVE, terms("PDC-AI"), Answer.ALTERNATIVE, id="unlisted agreement"),
        pytest.param(
            SELECTIVE,
            terms("SD-BASE", "NoStalking", "delete-on-end"),
            Answer.ALTERNATIVE,
            id="unlisted additional term",
        ),
        pytest.param(
            VendorTermsPolicy(accepts=frozenset({"SD-BASE"})),
            terms("PDC-AI"),
            Answer.REJECTED,
            id="no alternative",
        ),
        pytest.param(
            VendorTermsPolicy(accepts=frozenset({"SD-BASE"}), alternative="SD-BASE", manual=True),
            terms("SD-BASE"),
            Answer.PENDING,
            id="manual",
        ),
        pytest.param(
            VendorTermsPolicy.accepting_everything_in(library()),
            terms("PDC-INTENT", "NoStalking", "delete-on-end", "mine-too", "no-resale"),
            Answer.ACCEPTED,
            id="accepting everything",
        ),
        pytest.param(VendorTermsPolicy(), terms("SD-BASE"), Answer.REJECTED, id="accepting none"),
    ],
)
def test_decide(policy: VendorTermsPolicy, proffered: Terms, answer: Answer) -> None:
    """Listed terms are accepted, others get the alternative or a rejection; manual holds all."""
    assert policy.decide(proffered) == answer


def test_decide_ignores_letter_case_of_listed_ids() -> None:
    """A vendor may list ids in any letter case."""
    policy = VendorTermsPolicy(
        accepts=frozenset({"sd-base"}), accepts_additional=frozenset({"NOSTALKING"})
    )

    assert policy.decide(terms("SD-BASE", "NoStalking")) == Answer.ACCEPTED


def test_alternative_keeps_only_the_additional_terms_the_vendor_accepts() -> None:
    """The alternative is the vendor's agreement with those of the person's terms it accepts."""
    proffered = terms("SD-BASE-DP", "NoStalking", "delete-on-end")

    offered = SELECTIVE.alternative_terms(library(), proffered)

    assert offered == terms("SD-BASE", "NoStalking")


def test_alternative_named_in_another_letter_case_is_found() -> None:
    """The vendor's alternative id is looked up without regard to case."""
    policy = VendorTermsPolicy(alternative="sd-base-dp")

    offered = policy.alternative_terms(library(), terms("PDC-AI"))

    assert offered == terms("SD-BASE-DP")


def test_no_alternative_without_one_configured() -> None:
    """A vendor without an alternative offers none."""
    assert VendorTermsPolicy().alternative_terms(library(), terms("SD-BASE")) is None


@pytest.mark.parametrize(
    ("rule", "as_protective", "weaker"),
    [
        (AlternativeRule.ASK, Answer.ACCEPTED, Answer.PENDING),
        (AlternativeRule.REJECT, Answer.ACCEPTED, Answer.REJECTED),
        (AlternativeRule.NEVER, Answer.PENDING, Answer.PENDING),
    ],
)
def test_judge_alternative(rule: AlternativeRule, as_protective: Answer, weaker: Answer) -> None:
    """An alternative as protective as the proffer is taken unless the person said never.

    A weaker one is asked about, or rejected if the person chose that.
    """
    wanted = terms("SD-BASE", "NoStalking")

    assert judge_alternative(wanted, terms("SD-BASE-DP", "NoStalking"), rule) == as_protective
    assert judge_alternative(wanted, terms("SD-BASE"), rule) == as_protective
    assert judge_alternative(wanted, terms("PDC-AI"), rule) == weaker
    assert judge_alternative(terms("SD-BASE", "delete-on-end"), terms("SD-BASE"), rule) == weaker


def test_reworded_terms_are_never_signed_in_the_proffers_words() -> None:
    """A known id with other words: not accepted, and the alternative carries the library's."""
    from vrm.terms import Terms, VendorTermsPolicy, library

    found = library()
    mine_too = found.term("mine-too")
    reworded = mine_too.model_copy(update={"text": ("The vendor owes the person 1,000,000 EUR.",)})
    proffered = Terms(agreement=found.agreement("SD-BASE"), additional=(reworded,))
    policy = VendorTermsPolicy(
        accepts=frozenset({"SD-BASE"}),
        accepts_additional=frozenset({"mine-too"}),
        alternative="SD-BASE",
    )
    assert policy.decide(proffered).value == "alternative"
    offered = policy.alternative_terms(found, proffered)
    assert offered is not None
    assert offered.additional == (mine_too,)


def test_an_alternative_in_other_words_or_with_an_extra_term_is_asked_about() -> None:
    """The agent takes an alternative alone only in the library's words, with no new term."""
    from vrm.terms import AlternativeRule, Terms, judge_alternative, library

    found = library()
    wanted = Terms(agreement=found.agreement("SD-BASE"), additional=(found.term("mine-too"),))
    reworded = found.agreement("SD-BASE").model_copy(
        update={"text": ("The person owes the vendor 500 EUR a month.",)}
    )
    in_other_words = Terms(agreement=reworded, additional=(found.term("mine-too"),))
    extra = Terms(
        agreement=found.agreement("SD-BASE"),
        additional=(found.term("mine-too"), found.term("NoStalking")),
    )
    for offered in (in_other_words, extra):
        assert judge_alternative(wanted, offered, AlternativeRule.ASK).value == "pending"
        assert judge_alternative(wanted, offered, AlternativeRule.REJECT).value == "rejected"
    assert judge_alternative(wanted, wanted, AlternativeRule.ASK).value == "accepted"
