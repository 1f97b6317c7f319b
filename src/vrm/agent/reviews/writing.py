"""What the person writes, checked in words, and the schema.org Review made of it.

A :class:`Draft` holds the person's words and choices: what they review, the stars,
title and text, the licence, whether mining is reserved, the name they sign with
(theirs or a pseudonym: never taken from the profile). :func:`problems` says, field
by field, what does not fit, so the pages can show it beside each field and the
API and command line can say it in one line; :func:`compose` makes the Review.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from vrm.protocol import Review
from vrm.protocol.v1.licences import TDMREP, Licence, licence
from vrm.protocol.v1.reviews import ITEM_TYPES, SCHEMA_ORG

MAX_ITEM = 200
MAX_TITLE = 200
MAX_BODY = 5000
MAX_AUTHOR = 100
_WEB = re.compile(r"^https?://[^\s]+$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,4}$")


@dataclass(frozen=True)
class Draft:
    """A review as the person writes it."""

    item: str
    """What is reviewed: a product, a shop, a film…"""
    rating: int
    """Stars, 1 to 5."""
    title: str
    body: str
    licence: str
    """A licence's key (``cc-by-nc``) or URL."""
    author: str
    """The name the review is signed with; a pseudonym is fine."""
    no_ai_training: bool = False
    """Reserve text and data mining, AI training included (W3C TDMRep)."""
    item_type: str = "Product"
    """schema.org type of the item: Product, Service, Organization, Book…"""
    item_url: str | None = None
    language: str | None = None
    """BCP 47: ``en``, ``fr-CA``."""

    def cleaned(self) -> Draft:
        """The draft with spaces trimmed and empty optional values left out."""
        return replace(
            self,
            item=self.item.strip(),
            title=self.title.strip(),
            body=self.body.strip(),
            licence=self.licence.strip(),
            author=self.author.strip(),
            item_type=self.item_type.strip() or "Product",
            item_url=(self.item_url or "").strip() or None,
            language=(self.language or "").strip() or None,
        )

    def chosen_licence(self) -> Licence:
        """The licence chosen (ValueError when it is none of the list)."""
        return licence(self.licence)

    @classmethod
    def of(cls, review: Review) -> Draft:
        """The draft a review was made from (to edit it)."""
        return cls(
            item=review.itemReviewed.name,
            rating=review.reviewRating.ratingValue,
            title=review.name,
            body=review.reviewBody,
            licence=licence(review.license).key,
            author=review.author.name,
            no_ai_training=review.reserved,
            item_type=review.itemReviewed.type,
            item_url=review.itemReviewed.url,
            language=review.inLanguage,
        )


def problems(draft: Draft) -> dict[str, str]:
    """What does not fit in ``draft``, by field, in words; empty when it all fits."""
    found: dict[str, str] = {}
    _length(found, "item", draft.item, MAX_ITEM, "Say what you review")
    _length(found, "title", draft.title, MAX_TITLE, "Give the review a title")
    _length(found, "body", draft.body, MAX_BODY, "Write the review")
    _length(found, "author", draft.author, MAX_AUTHOR, "Give the name to sign with")
    if not 1 <= draft.rating <= 5:
        found["rating"] = "Give 1 to 5 stars."
    if draft.item_type not in ITEM_TYPES:
        found["item_type"] = f"Choose what kind of thing it is: {', '.join(ITEM_TYPES)}."
    if draft.item_url is not None and (
        len(draft.item_url) > 2048 or not _WEB.match(draft.item_url)
    ):
        found["item_url"] = "Give a web address starting with https:// (or leave it empty)."
    if draft.language is not None and not _LANGUAGE.match(draft.language):
        found["language"] = "Give a language tag such as en or fr-CA (or leave it empty)."
    try:
        chosen = draft.chosen_licence()
    except ValueError as exc:
        found["licence"] = str(exc).capitalize() + "."
    else:
        if draft.no_ai_training and not chosen.reservable:
            found["no_ai_training"] = (
                "CC0 gives up every right, reserving mining too: choose another licence "
                "to reserve AI training."
            )
    return found


def compose(
    draft: Draft, *, review_id: str, reviewer: str, published: str, modified: str | None
) -> Review:
    """The schema.org Review of ``draft``, signed later by ``reviewer``.

    Raises:
        ValueError: what does not fit, the first problem in words.
    """
    draft = draft.cleaned()
    found = problems(draft)
    if found:
        field, said = next(iter(found.items()))
        raise ValueError(f"{field}: {said}")
    item: dict[str, Any] = {"@type": draft.item_type, "name": draft.item}
    if draft.item_url:
        item["url"] = draft.item_url
    document: dict[str, Any] = {
        "@context": [SCHEMA_ORG, {"tdm": TDMREP}],
        "@type": "Review",
        "@id": review_id,
        "itemReviewed": item,
        "reviewRating": {"@type": "Rating", "ratingValue": draft.rating},
        "name": draft.title,
        "reviewBody": draft.body,
        "datePublished": published,
        "author": {"@type": "Person", "@id": reviewer, "name": draft.author},
        "license": draft.chosen_licence().url,
        "tdm:reservation": int(draft.no_ai_training),
    }
    if modified is not None:
        document["dateModified"] = modified
    if draft.language:
        document["inLanguage"] = draft.language
    try:
        return Review.model_validate_json(json.dumps(document))
    except ValidationError as exc:  # what problems() does not foresee, said as pydantic says it
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "review"
        raise ValueError(f"{where}: {error['msg']}") from exc


def _length(found: dict[str, str], field: str, value: str, most: int, empty: str) -> None:
    if not value:
        found[field] = empty + "."
    elif len(value) > most:
        found[field] = f"At most {most:,} characters ({len(value):,} now)."
