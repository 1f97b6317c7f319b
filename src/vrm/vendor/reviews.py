"""People's reviews at the vendor: kept as signed, with the licence each was given under.

A review reaches the endpoint two ways (docs/protocol.md 7.11). A customer sends
it over an accepted relationship (``review``, from the pairwise DID): the signed
review inside is verified — it may be signed by the person's reviewer DID, which
the vendor then knows is its customer's. Or the vendor fetches a person's public
feed (:meth:`Reviews.fetch`), whose every entry is verified against the feed's
reviewer; an entry that does not verify is refused and not stored.

One row per review (reviewer and ``@id``) holds its newest version, its licence,
whether text and data mining is reserved, and the signed review to show anyone.
A withdrawal (``review.withdraw`` from the customer who sent it, or the review
gone from the feed it came from) deletes the text and keeps the tombstone, so the
review is never taken again. Erasing a customer deletes the reviews they sent
(:func:`vrm.vendor.data_rights.erase`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
from sqlalchemy import Connection, Engine, insert, select, update

from vrm.protocol import (
    Message,
    PartyState,
    ProtocolError,
    RefusalCode,
    ReviewMessage,
    ReviewWithdraw,
    SignedReview,
    read_feed,
)
from vrm.protocol.v1.licences import in_words, licence
from vrm.transport.client import Transport, TransportError
from vrm.vendor.errors import FeedUnusable
from vrm.vendor.schema import customers, reviews

CURRENT, WITHDRAWN = "current", "withdrawn"


@dataclass
class FetchReport:
    """What fetching a feed did: reviews new, newer, the same, withdrawn, and entries refused."""

    url: str
    reviewer: str
    feed_updated: str
    stored: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "url": self.url,
            "reviewer": self.reviewer,
            "feed_updated": self.feed_updated,
            "stored": self.stored,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "withdrawn": self.withdrawn,
            "refused": self.refused,
        }


class Reviews:
    """The reviews the endpoint holds, each change in one transaction.

    Args:
        engine: the endpoint's database.
        transport: the HTTP client feeds are fetched with (the endpoint's, under its
            address policy), or a function giving it.
        clock: the current epoch time.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        transport: Transport | Callable[[], Transport],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self._transport = transport
        self.clock = clock

    # messages from customers

    def receive(self, message: Message) -> bool:
        """Keep a customer's review, or withdraw one they sent; False (nothing is queued).

        Raises:
            ProtocolError: ``wrong_recipient`` when the sender has no accepted
                relationship with the vendor, or ended it.
        """
        with self.engine.begin() as connection:
            _check_customer(connection, message.sender)
            body = message.body
            if isinstance(body, ReviewMessage):
                self._keep(connection, body.signed(), customer=message.sender, feed_url=None)
            elif isinstance(body, ReviewWithdraw):
                connection.execute(
                    _withdraw(self.clock()).where(
                        reviews.c.review_id == body.review,
                        reviews.c.customer == message.sender,
                        reviews.c.state == CURRENT,
                    )
                )
            else:
                raise ProtocolError(RefusalCode.UNKNOWN_TYPE, f"{message.type} is not a review")
        return False

    # the vendor's calls

    async def fetch(self, url: str) -> FetchReport:
        """Fetch a person's public feed, verify each entry, keep the reviews that verified.

        Newer versions replace older ones; a review that came from this feed and is no
        longer in it is withdrawn (its text deleted), unless its customer also sent it.

        Raises:
            FeedUnusable: the feed could not be fetched, was not there (the person
                turned it off), or is not a review feed.
        """
        transport = self._transport() if callable(self._transport) else self._transport
        try:
            reply = await transport.request("GET", url)
        except TransportError as exc:
            raise FeedUnusable(f"could not fetch {url}: {exc}") from exc
        if reply.status != 200:
            raise FeedUnusable(f"{url} answered {reply.status}: {_detail(reply.body)}")
        try:
            feed = read_feed(reply.body)
        except ProtocolError as exc:
            raise FeedUnusable(f"{url}: {exc.detail}") from exc
        return await anyio.to_thread.run_sync(self._take_feed, url, feed)

    def listed(
        self, *, state: str | None = None, customer: str | None = None
    ) -> list[dict[str, Any]]:
        """The reviews held, newest first, each with its licence in words."""
        query = select(reviews).order_by(reviews.c.updated_at.desc(), reviews.c.id.desc())
        if state is not None:
            query = query.where(reviews.c.state == state)
        if customer is not None:
            query = query.where(reviews.c.customer == customer)
        with self.engine.begin() as connection:
            return [_listed(row) for row in connection.execute(query)]

    # helpers

    def _take_feed(self, url: str, feed: Any) -> FetchReport:
        report = FetchReport(url, feed.reviewer, feed.updated)
        report.refused = [entry.as_json() for entry in feed.refused]
        with self.engine.begin() as connection:
            for signed in feed.reviews:
                outcome = self._keep(connection, signed, customer=None, feed_url=url)
                getattr(report, outcome).append(signed.review.id)
            listed = {(signed.reviewer, signed.review.id) for signed in feed.reviews}
            held = connection.execute(
                select(
                    reviews.c.id, reviews.c.reviewer, reviews.c.review_id, reviews.c.customer
                ).where(reviews.c.feed_url == url, reviews.c.state == CURRENT)
            ).all()
            for row in held:
                if (row.reviewer, row.review_id) in listed:
                    continue
                if row.customer is not None:  # the customer sent it: that copy stands
                    connection.execute(
                        update(reviews).where(reviews.c.id == row.id).values(feed_url=None)
                    )
                else:
                    connection.execute(_withdraw(self.clock()).where(reviews.c.id == row.id))
                    report.withdrawn.append(row.review_id)
        return report

    def _keep(
        self,
        connection: Connection,
        signed: SignedReview,
        *,
        customer: str | None,
        feed_url: str | None,
    ) -> str:
        """Keep ``signed`` unless a newer version (or its withdrawal) is held.

        Returns what happened: ``stored``, ``updated``, ``unchanged`` or ``withdrawn``
        (withdrawn before: never taken again).
        """
        review, now = signed.review, self.clock()
        held = connection.execute(
            select(reviews).where(
                reviews.c.reviewer == signed.reviewer, reviews.c.review_id == review.id
            )
        ).one_or_none()
        sources: dict[str, Any] = {}
        if customer is not None:
            sources["customer"] = customer
        if feed_url is not None:
            sources["feed_url"] = feed_url
        content = {
            "license": review.license,
            "reserved": review.reserved,
            "version": review.version,
            "review": json.dumps(review.as_json(), ensure_ascii=False),
            "token": signed.signed,
            "updated_at": now,
        }
        if held is None:
            connection.execute(
                insert(reviews).values(
                    reviewer=signed.reviewer,
                    review_id=review.id,
                    state=CURRENT,
                    received_at=now,
                    **sources,
                    **content,
                )
            )
            return "stored"
        if held.state == WITHDRAWN:
            return "withdrawn"
        newer = review.version > held.version  # fixed-width UTC times compare as text
        values = {**sources, **content} if newer else sources
        if values:
            connection.execute(update(reviews).where(reviews.c.id == held.id).values(**values))
        return "updated" if newer else "unchanged"


def _withdraw(now: float) -> Any:
    """The update that withdraws reviews: the text and signed review deleted, the ids kept."""
    return update(reviews).values(
        state=WITHDRAWN, review=None, token=None, version=None, withdrawn_at=now, updated_at=now
    )


def _check_customer(connection: Connection, did: str) -> None:
    row = connection.execute(
        select(customers.c.state, customers.c.person_state).where(customers.c.did == did)
    ).one_or_none()
    if row is None or row.state != PartyState.ACCEPTED:
        raise ProtocolError(
            RefusalCode.WRONG_RECIPIENT, "this vendor has no accepted relationship with the sender"
        )
    if row.person_state == PartyState.ENDED:
        raise ProtocolError(RefusalCode.WRONG_RECIPIENT, "the sender ended this relationship")


def _listed(row: Any) -> dict[str, Any]:
    chosen = licence(row.license)
    return {
        "id": row.id,
        "review_id": row.review_id,
        "reviewer": row.reviewer,
        "customer": row.customer,
        "feed": row.feed_url,
        "state": row.state,
        "license": {
            "url": chosen.url,
            "name": chosen.name,
            "key": chosen.key,
            "commercial": chosen.commercial,
            "derivatives": chosen.derivatives,
            "attribution": chosen.attribution,
        },
        "tdm_reservation": row.reserved,
        "licence_in_words": in_words(row.license, reserved=row.reserved),
        "review": None if row.review is None else json.loads(row.review),
        "signed": row.token,
        "received_at": row.received_at,
        "updated_at": row.updated_at,
        "withdrawn_at": row.withdrawn_at,
    }


def _detail(body: bytes) -> str:
    """The ``detail`` of a problem document, else the start of the body."""
    try:
        document = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace") or "no explanation"
    detail = document.get("detail") if isinstance(document, dict) else None
    return detail if isinstance(detail, str) else "no explanation"
