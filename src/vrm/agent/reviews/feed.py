"""The public review feed: its switch, where it is served, and the document anyone may read.

Off until the person turns it on. On, ``vrm up`` serves the reviews the person made
public — each as signed, with the reviewer DID — and nothing else: no relationship
DID, no profile. The switch and a revision (raised by every change to what the feed
lists) are kept in ``settings``; the document is rebuilt only when the revision moved,
so a reader asking often costs one small query.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from vrm.agent.config import DEFAULT_PORT, load_config, load_listening_url
from vrm.agent.reviews import store
from vrm.agent.reviews.store import ReviewRecord
from vrm.protocol.v1.review_feed import entry, feed_document
from vrm.vault import Sealer

FEED_SETTING = "reviews_feed"
FEED_PATH = "/reviews"


@dataclass(frozen=True)
class FeedSetting:
    """Whether the feed is on, and the revision of what it lists."""

    on: bool = False
    revision: int = 0
    changed_at: float | None = None


@dataclass(frozen=True)
class FeedStatus:
    """The feed as the person sees it: on or off, its address, its reviewer, how many reviews."""

    on: bool
    url: str
    reviewer: str | None
    reviews: int

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"on": self.on, "url": self.url, "reviewer": self.reviewer, "reviews": self.reviews}


@dataclass(frozen=True)
class Served:
    """A document of the feed as served: its bytes, ETag, and when it last changed."""

    body: bytes
    etag: str
    last_modified: float
    reserved: bool = False
    """For one review: text and data mining is reserved (the TDMRep header says so too)."""


def load_feed(connection: Connection) -> FeedSetting:
    """The feed's switch and revision (off, revision 0, before it was ever set)."""
    stored = connection.execute(
        text("SELECT value FROM settings WHERE name = :name"), {"name": FEED_SETTING}
    ).scalar()
    if stored is None:
        return FeedSetting()
    value = json.loads(stored)
    return FeedSetting(bool(value["on"]), int(value["revision"]), value.get("changed_at"))


def changed(connection: Connection, *, now: float, on: bool | None = None) -> FeedSetting:
    """Record that what the feed lists changed (and turn it on or off, if ``on`` is given)."""
    before = load_feed(connection)
    after = FeedSetting(before.on if on is None else on, before.revision + 1, now)
    value = {"on": after.on, "revision": after.revision, "changed_at": after.changed_at}
    connection.execute(
        text(
            "INSERT INTO settings (name, value) VALUES (:name, :value) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
        ),
        {"name": FEED_SETTING, "value": json.dumps(value)},
    )
    return after


def feed_url(connection: Connection) -> str:
    """Where the feed is served: the public URL, else where ``vrm up`` listens, + /reviews."""
    base = (
        load_config(connection).public_url
        or load_listening_url(connection)
        or f"http://127.0.0.1:{DEFAULT_PORT}"
    )
    return base.rstrip("/") + FEED_PATH


def status(connection: Connection, sealer: Sealer) -> FeedStatus:
    """The feed as the person sees it."""
    return FeedStatus(
        on=load_feed(connection).on,
        url=feed_url(connection),
        reviewer=store.reviewer_did(connection),
        reviews=len(store.published(connection, sealer)),
    )


def document(connection: Connection, sealer: Sealer, setting: FeedSetting) -> Served:
    """The whole feed as served (the reviewer identity is made if there is none yet)."""
    reviewer = store.reviewer(connection, sealer, now=setting.changed_at or 0.0)
    listed = store.published(connection, sealer)
    changed_at = setting.changed_at or 0.0
    built = feed_document(reviewer.did, [r.signed for r in listed], updated=changed_at)
    return _served(built, changed_at)


def one(record: ReviewRecord, setting: FeedSetting) -> Served:
    """One published review as served at ``/reviews/{uuid}``: its feed entry and reviewer."""
    served = {"reviewer": record.signed.reviewer, **entry(record.signed)}
    return _served(served, setting.changed_at or 0.0, reserved=record.review.reserved)


def _served(built: dict[str, Any], changed_at: float, *, reserved: bool = False) -> Served:
    body = json.dumps(built, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return Served(body, etag, changed_at, reserved)
