"""Terms: the IEEE 7012 roster of agreements and the person's additional terms.

The library shipped with vrm is ``library.json`` beside this module; docs/terms.md
says where each one comes from.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from vrm.terms.obligations import Obligations

TermId = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9-]{0,63}$")]
Version = Annotated[str, Field(pattern=r"^[0-9]{1,6}(\.[0-9]{1,6}){0,2}$")]
Sentence = Annotated[str, Field(min_length=1, max_length=600)]


class Source(BaseModel):
    """Where a term comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=200)]
    url: Annotated[str, Field(pattern=r"^https?://", max_length=2048)]


class Term(BaseModel):
    """One agreement of the roster, or one additional term, at one version.

    Members that are null are left out when terms are hashed, so a term must not
    rely on a null to mean anything.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: TermId
    version: Version
    kind: Literal["agreement", "term"]
    title: Annotated[str, Field(min_length=1, max_length=80)]
    summary: Annotated[str, Field(min_length=1, max_length=300)]
    text: Annotated[tuple[Sentence, ...], Field(min_length=1, max_length=12)]
    source: Source | None = None
    obligations: Obligations

    @model_validator(mode="after")
    def _agreements_set_every_obligation(self) -> Term:
        if self.kind == "agreement" and not self.obligations.is_complete():
            raise ValueError(f"agreement {self.id} must set every obligation")
        if self.kind == "term" and not self.obligations.described():
            raise ValueError(f"term {self.id} must set at least one obligation")
        return self

    @property
    def ref(self) -> str:
        """``id@version``."""
        return f"{self.id}@{self.version}"


class UnknownTerm(LookupError):
    """No agreement or term has this id."""


class Library(BaseModel):
    """The agreements and additional terms one can proffer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agreements: tuple[Term, ...]
    terms: tuple[Term, ...]

    @model_validator(mode="after")
    def _kinds_and_ids(self) -> Library:
        if any(t.kind != "agreement" for t in self.agreements):
            raise ValueError("the agreements list holds only agreements")
        if any(t.kind != "term" for t in self.terms):
            raise ValueError("the terms list holds only additional terms")
        ids = [t.id.casefold() for t in (*self.agreements, *self.terms)]
        if len(ids) != len(set(ids)):
            raise ValueError("term ids must be unique")
        return self

    def agreement(self, term_id: str) -> Term:
        """The roster agreement ``term_id`` (case-insensitive)."""
        return _find(self.agreements, term_id, "agreement")

    def term(self, term_id: str) -> Term:
        """The additional term ``term_id`` (case-insensitive)."""
        return _find(self.terms, term_id, "additional term")

    def any(self, term_id: str) -> Term:
        """The agreement or additional term ``term_id``."""
        return _find((*self.agreements, *self.terms), term_id, "agreement or term")


def _find(terms: tuple[Term, ...], term_id: str, what: str) -> Term:
    wanted = term_id.strip().casefold()
    for term in terms:
        if term.id.casefold() == wanted:
            return term
    known = ", ".join(t.id for t in terms)
    raise UnknownTerm(f"no {what} {term_id!r} (known: {known})")


@cache
def library() -> Library:
    """The terms library shipped with vrm."""
    data = resources.files("vrm.terms").joinpath("library.json").read_text(encoding="utf-8")
    return Library.model_validate(json.loads(data))
