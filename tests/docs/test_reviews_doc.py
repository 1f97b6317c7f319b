"""docs/protocol.md 7.11 against the code: the review document, licences, feed, example, schema.

The bodies of ``review`` and ``review.withdraw`` are checked with every other type's by
test_protocol_doc; the review document and the feed are no message bodies, so this
module checks their tables, and the example a reader can verify by hand.
"""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from vrm.protocol import LICENCES, Identity, Review, sign_review, verify_review
from vrm.protocol.v1.review_feed import FeedEntry, ReviewFeed
from vrm.protocol.v1.reviews import REVIEW_TYP

DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text(encoding="utf-8")
ROW = re.compile(r"^\| `([^`]+)` \| ([^|]+?) \| ([^|]+?) \| (.+) \|$", re.MULTILINE)
FIRTH = Identity.from_seed(bytes(31) + b"\x03")


def section(heading: str) -> str:
    start = DOC.index(f"\n{heading}")
    end = DOC.find("\n#### ", start + 1)
    return DOC[start:end]


def rows(heading: str) -> dict[str, tuple[str, str]]:
    """The four-column member table of a section: member → (JSON type, required)."""
    return {m: (t, r.split(" ")[0]) for m, t, r, _ in ROW.findall(section(heading))}


def members(model: type[BaseModel], prefix: str = "") -> dict[str, bool]:
    """Every member of ``model`` by its JSON name, nested objects' as ``a.b``: is it required?"""
    found = {}
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        found[key] = field.is_required()
        nested = _model_in(field.annotation)
        if nested is not None:
            suffix = "[]." if typing.get_origin(field.annotation) is list else "."
            found.update(members(nested, key + suffix))
    return found


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) is list:
        return _model_in(typing.get_args(annotation)[0])
    for alternative in typing.get_args(annotation) if typing.get_origin(annotation) else ():
        if isinstance(alternative, type) and issubclass(alternative, BaseModel):
            return alternative
    return None


def json_blocks(text: str) -> list[str]:
    return re.findall(r"```json\n(.*?)\n```", text, flags=re.DOTALL)


def test_the_review_document_table_lists_every_member() -> None:
    """Each member of the Review, nested ones included, once, with whether it is required."""
    shown = rows("#### 7.11.1 ")
    expected = members(Review)
    expected = {k: v for k, v in expected.items() if not k.startswith("@context.")}
    assert set(shown) == set(expected)
    for member, required in expected.items():
        assert shown[member][1] == ("yes" if required else "no"), member


def test_the_feed_table_lists_every_member() -> None:
    """The feed document's members and its entries' members, with whether each is required."""
    shown = rows("#### 7.11.4 ")
    expected = members(ReviewFeed)
    assert set(shown) == set(expected) | {f"reviews[].{m}" for m in FeedEntry.model_fields}
    for member, (_kind, required) in shown.items():
        assert required == "yes", member


def test_the_licence_table_is_the_code_s_list() -> None:
    """Each licence's key, name and canonical URL, in the order the code offers them."""
    text = section("#### 7.11.2 ")
    listed = re.findall(r"^\| `([a-z0-9-]+)` \| ([^|]+?) \| `([^`]+)` \|", text, re.MULTILINE)
    assert listed == [(entry.key, entry.name, entry.url) for entry in LICENCES]


def test_the_review_document_schema_is_the_generated_one() -> None:
    """The schema shown for the review document is exactly what the code generates."""
    document = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    document.update(Review.model_json_schema())
    document["title"] = "Review"
    [shown] = json_blocks(section("#### The review document"))
    assert shown == json.dumps(document, indent=2, sort_keys=True)


def test_the_example_is_what_signing_gives_and_verifies() -> None:
    """The example review, signed by the seed-03 did:key, is the JWS shown; it verifies."""
    text = section("#### 7.11.8 ")
    [shown] = json_blocks(text)
    review = Review.model_validate_json(shown)
    assert review.as_json() == json.loads(shown)
    [token] = re.findall(r"```\n(ey[A-Za-z0-9_.-]+)\n```", text)
    assert sign_review(review, FIRTH) == token
    checked = verify_review(token)
    assert (checked.review, checked.reviewer) == (review, FIRTH.did)
    assert REVIEW_TYP in text
