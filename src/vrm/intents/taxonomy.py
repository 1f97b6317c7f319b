"""The categories an intent is published under: what people buy, goods and services.

The taxonomy shipped with vrm is ``taxonomy.json`` beside this module. Each category is a
path of one to four segments with an English label and the properties a person may fill in
for it (they add up down the tree)::

    taxonomy().category("vehicles/cars/electric").label   # "Electric cars"
    taxonomy().properties_of("vehicles/cars/electric")    # ("make", "model", …, "range_km", …)
    taxonomy().search("plumbing")                         # (services/trades/plumbing, …)

Vendors subscribe to a path and hear of every intent within it, so a shipped path keeps its
meaning: add categories, never move or reuse one. Paths follow the protocol's category
grammar (docs/protocol.md 7.8).
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from functools import cache
from importlib import resources
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

MAX_DEPTH = 4
SEGMENT = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
"""One path segment (matched whole): lowercase ascii letters and digits, inner single hyphens."""

PropertyName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$", max_length=64)]
Label = Annotated[str, Field(pattern=r"^\S(.*\S)?$", max_length=80)]

_WORD = re.compile(r"[a-z0-9]+")
_SUGGESTIONS = 3
_CLOSE_ENOUGH = 0.6

# Search ranks, best first.
_EXACT_LABEL, _LABEL_PREFIX, _LABEL_WORDS, _PATH_WORDS = range(4)


class UnknownCategory(KeyError):
    """No category has this path; ``suggestions`` holds the closest ones, best first."""

    def __init__(self, path: str, suggestions: tuple[str, ...], message: str) -> None:
        super().__init__(path)
        self.path = path
        self.suggestions = suggestions
        self.message = message

    def __str__(self) -> str:
        # KeyError would show the repr of its argument; this message is meant for people.
        return self.message


class Category(BaseModel):
    """One category: where it sits, what it is called, what a person may say about an item."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    label: Label
    properties: Annotated[tuple[PropertyName, ...], Field(max_length=16)] = ()

    @field_validator("path")
    @classmethod
    def _well_formed(cls, path: str) -> str:
        if not path:
            raise ValueError("a category path must not be empty")
        segments = path.split("/")
        if len(segments) > MAX_DEPTH:
            raise ValueError(
                f"category path {path!r} is {len(segments)} segments deep; "
                f"at most {MAX_DEPTH} are allowed"
            )
        for segment in segments:
            if not SEGMENT.fullmatch(segment):
                raise ValueError(
                    f"category path {path!r} has a malformed segment {segment!r}: a segment is "
                    "lowercase ascii letters and digits, joined by single hyphens"
                )
        return path

    @model_validator(mode="after")
    def _properties_once(self) -> Category:
        for name in self.properties:
            if self.properties.count(name) > 1:
                raise ValueError(f"category {self.path!r} lists property {name!r} twice")
        return self

    @property
    def parent(self) -> str:
        """The parent's path; empty for a top-level category."""
        return self.path.rpartition("/")[0]

    @property
    def depth(self) -> int:
        """How many segments the path has, from 1 (top level) to 4."""
        return self.path.count("/") + 1


class _SearchKey:
    """A category's label and path, split into words once for :meth:`Taxonomy.search`."""

    __slots__ = ("category", "label", "label_words", "path_words")

    def __init__(self, category: Category) -> None:
        self.category = category
        self.label_words = _words(category.label)
        self.label = " ".join(self.label_words)
        self.path_words = tuple(_WORD.findall(category.path))

    def rank(self, query: str, words: tuple[str, ...]) -> int | None:
        if self.label == query:
            return _EXACT_LABEL
        if self.label.startswith(query):
            return _LABEL_PREFIX
        if all(word in self.label_words for word in words):
            return _LABEL_WORDS
        if all(any(part.startswith(word) for part in self.path_words) for word in words):
            return _PATH_WORDS
        return None


class Taxonomy(BaseModel):
    """A tree of categories: every category's parent is listed too."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)*$", max_length=20)]
    source: Annotated[str, Field(min_length=1, max_length=500)]
    categories: Annotated[tuple[Category, ...], Field(min_length=1)]

    _by_path: dict[str, Category] = PrivateAttr(default_factory=dict)
    _children: dict[str, tuple[Category, ...]] = PrivateAttr(default_factory=dict)
    _search_keys: tuple[_SearchKey, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _a_tree(self) -> Taxonomy:
        by_path: dict[str, Category] = {}
        for category in self.categories:
            if category.path in by_path:
                raise ValueError(f"category {category.path!r} is listed twice")
            by_path[category.path] = category
        children: dict[str, list[Category]] = {"": []}
        for category in sorted(self.categories, key=lambda c: c.path.split("/")):
            if category.parent and category.parent not in by_path:
                raise ValueError(
                    f"category {category.path!r} is listed but its parent "
                    f"{category.parent!r} is not"
                )
            children.setdefault(category.parent, []).append(category)
        self._by_path = by_path
        self._children = {path: tuple(kids) for path, kids in children.items()}
        self._search_keys = tuple(_SearchKey(category) for category in self.categories)
        return self

    def category(self, path: str) -> Category:
        """The category at ``path`` (letter case and surrounding spaces are ignored).

        Raises:
            UnknownCategory: no category has this path; the message names the closest ones.
        """
        found = self._by_path.get(path.strip().lower())
        if found is None:
            raise self._unknown(path)
        return found

    def children(self, path: str = "") -> tuple[Category, ...]:
        """The categories directly under ``path``, by path; the top level for ``""``."""
        parent = self.category(path).path if path else ""
        return self._children.get(parent, ())

    def ancestors(self, path: str) -> tuple[Category, ...]:
        """The categories above ``path``, from its top-level category down to its parent."""
        segments = self.category(path).path.split("/")
        return tuple(self._by_path["/".join(segments[:end])] for end in range(1, len(segments)))

    @staticmethod
    def is_within(path: str, prefix: str) -> bool:
        """Whether ``path`` is ``prefix`` or under it, comparing whole segments.

        ``vehicles/cars`` is within ``vehicles``; ``vehicles-parts`` is not. Every path is
        within ``""``. Neither path has to be listed, as an intent may name a category from
        a newer taxonomy than the subscriber's.
        """
        return not prefix or path == prefix or path.startswith(prefix + "/")

    def search(self, text: str, limit: int = 10) -> tuple[Category, ...]:
        """The categories whose label or path matches ``text``, best first, at most ``limit``.

        Letter case and punctuation are ignored. An exact label comes first, then labels
        starting with the text, then labels holding each of its words, then paths with a
        segment starting with each of its words; ties go to the shallower category, then the
        shorter label.

        Raises:
            ValueError: ``limit`` is less than 1.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        words = _words(text)
        if not words:
            return ()
        query = " ".join(words)
        found: list[tuple[int, int, int, str, Category]] = []
        for key in self._search_keys:
            rank = key.rank(query, words)
            if rank is not None:
                c = key.category
                found.append((rank, c.depth, len(c.label), c.path, c))
        found.sort(key=lambda hit: hit[:4])
        return tuple(hit[4] for hit in found[:limit])

    def properties_of(self, path: str) -> tuple[str, ...]:
        """The properties a person may fill in for ``path``: inherited ones first, each once."""
        lineage = (*self.ancestors(path), self.category(path))
        return tuple(dict.fromkeys(name for c in lineage for name in c.properties))

    def _unknown(self, path: str) -> UnknownCategory:
        wanted = path.strip().lower()
        suggestions = self._closest(wanted)
        if suggestions:
            message = f"no category {path!r}; did you mean {_either(suggestions)}?"
        else:
            top = ", ".join(c.path for c in self._children[""])
            message = f"no category {path!r}, nor one close to it; the top level is: {top}"
        return UnknownCategory(path, suggestions, message)

    def _closest(self, wanted: str) -> tuple[str, ...]:
        """The listed paths closest to ``wanted``, as a whole or by their last segments.

        Comparing the tail lets ``plumbing`` find ``services/trades/plumbing``.
        """
        depth = wanted.count("/") + 1
        scored: list[tuple[float, int, str]] = []
        for path in self._by_path:
            tail = "/".join(path.split("/")[-depth:])
            score = max(_similarity(wanted, path), _similarity(wanted, tail))
            if score >= _CLOSE_ENOUGH:
                scored.append((-score, path.count("/"), path))
        scored.sort()
        return tuple(path for _, _, path in scored[:_SUGGESTIONS])


def _words(text: str) -> tuple[str, ...]:
    """Lowercase words of ``text``, apostrophes dropped (``Men's`` → ``mens``)."""
    return tuple(_WORD.findall(text.lower().replace("'", "").replace("\u2019", "")))


def _similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio()


def _either(paths: tuple[str, ...]) -> str:
    quoted = [repr(path) for path in paths]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


@cache
def taxonomy() -> Taxonomy:
    """The taxonomy shipped with vrm, read and checked once."""
    data = resources.files("vrm.intents").joinpath("taxonomy.json").read_text(encoding="utf-8")
    return Taxonomy.model_validate_json(data)
