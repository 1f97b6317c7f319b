"""The review form: what the person typed, read into a Draft, with each problem by field.

Framework-free: the pages give it the submitted fields (or a review to edit) and
render what it holds; nothing typed is lost when something does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vrm.agent.reviews.writing import Draft, problems
from vrm.protocol import LICENCES, Review
from vrm.protocol.v1.reviews import ITEM_TYPES

ITEM_KINDS = (
    ("Product", "A product"),
    ("Service", "A service"),
    ("LocalBusiness", "A shop or local business"),
    ("Organization", "A company or organisation"),
    ("Place", "A place"),
    ("Event", "An event"),
    ("Book", "A book"),
    ("Movie", "A film"),
    ("MusicRecording", "A piece of music"),
    ("SoftwareApplication", "An app or program"),
    ("CreativeWork", "Another creative work"),
)
"""The kinds of item the form offers, in words (every one of ``ITEM_TYPES``)."""
assert {kind for kind, _ in ITEM_KINDS} == set(ITEM_TYPES)  # noqa: S101 - a check at import
FIELDS = (
    "item",
    "item_type",
    "item_url",
    "rating",
    "title",
    "body",
    "licence",
    "author",
    "language",
)


@dataclass
class ReviewForm:
    """The values of the form as text, and the problems found, by field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def blank(cls, author: str | None) -> ReviewForm:
        """A new review's form: CC BY-NC chosen, the last pen name (if any) filled in."""
        return cls({"item_type": "Product", "licence": "cc-by-nc", "author": author or ""})

    @classmethod
    def of(cls, review: Review, *, public: bool) -> ReviewForm:
        """The form of a review to edit, holding what it says now."""
        draft = Draft.of(review)
        values = {name: str(getattr(draft, name) or "") for name in FIELDS}
        values["no_ai_training"] = "on" if draft.no_ai_training else ""
        values["public"] = "on" if public else ""
        return cls(values)

    @classmethod
    def submitted(cls, fields: dict[str, str]) -> ReviewForm:
        """The form as sent: its text, then checked."""
        values = {name: fields.get(name, "") for name in (*FIELDS, "no_ai_training", "public")}
        form = cls(values)
        draft = form.draft()
        if draft is not None:
            form.errors.update(problems(draft))
        return form

    def value(self, name: str) -> str:
        """What the field holds, as typed."""
        return self.values.get(name, "")

    def checked(self, name: str) -> bool:
        """Whether a checkbox was ticked."""
        return self.values.get(name) == "on"

    @property
    def public(self) -> bool:
        """Whether the review goes in the public feed."""
        return self.checked("public")

    def draft(self) -> Draft | None:
        """The Draft the form holds; None (and a problem noted) when the stars are no number."""
        rating = self.value("rating").strip()
        if not rating.isdigit() or len(rating) > 1:
            self.errors["rating"] = "Give 1 to 5 stars."
            return None
        return Draft(
            item=self.value("item"),
            rating=int(rating),
            title=self.value("title"),
            body=self.value("body").replace("\r\n", "\n"),
            licence=self.value("licence"),
            author=self.value("author"),
            no_ai_training=self.checked("no_ai_training"),
            item_type=self.value("item_type") or "Product",
            item_url=self.value("item_url") or None,
            language=self.value("language") or None,
        ).cleaned()


def licence_choices() -> list[tuple[str, str, str]]:
    """Each licence as the form offers it: its key, its name, what it allows in one line."""
    return [(entry.key, entry.name, entry.summary) for entry in LICENCES]
