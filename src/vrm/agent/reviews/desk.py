"""The person's review actions, one transaction each: write, edit, publish, send, withdraw.

:class:`ReviewDesk` is what the command line, the API and the pages call. Every
action keeps the review (:mod:`vrm.agent.reviews.store`), tells whom it concerns,
and writes the audit log, together:

- a review sent to a vendor goes as ``review`` from the pairwise DID of that
  relationship, carrying the review signed by the reviewer DID — so that vendor
  learns the reviewer DID is its customer's, which the person chooses by sending;
- an edit goes to every vendor that has the review, as the new version;
- a withdrawal takes the review out of the feed for good and sends
  ``review.withdraw`` to every vendor that has it;
- the feed (:mod:`vrm.agent.reviews.feed`) lists the public reviews while it is on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection

from vrm.agent.audit import service as audit
from vrm.agent.errors import Conflict
from vrm.agent.relationships.service import (
    Relationship,
    find_relationship,
    get_relationship,
    list_relationships,
    send_to_vendor,
)
from vrm.agent.reviews import feed, sendings, store
from vrm.agent.reviews.feed import FeedStatus, Served
from vrm.agent.reviews.store import ReviewRecord
from vrm.agent.reviews.writing import Draft
from vrm.protocol import REVIEW, REVIEW_WITHDRAW, PartyState, ReviewMessage, ReviewWithdraw
from vrm.vault import Sealer

if TYPE_CHECKING:
    from vrm.agent.personal_agent import PersonalAgent


class ReviewDesk:
    """The person's reviews and their public feed.

    Args:
        agent: the unlocked agent (its database, sealer, clock and outbox listener).
    """

    def __init__(self, agent: PersonalAgent) -> None:
        self.agent = agent
        self._served: tuple[int, Served] | None = None

    # writing

    def write(self, draft: Draft, *, public: bool = False) -> ReviewRecord:
        """Write and sign a new review; ``public`` puts it in the feed (when the feed is on).

        Raises:
            ValueError: the draft does not fit (the first problem, in words).
        """
        with self.agent._transaction() as (connection, _queued, now, _max_age):
            sealer = self.agent.sealer
            record = store.write(connection, sealer, draft, public=public, now=now)
            review = record.review
            audit.append(
                connection,
                sealer,
                kind="review.written",
                details={
                    "review": record.id,
                    "item": review.itemReviewed.name,
                    "rating": review.reviewRating.ratingValue,
                    "licence": draft.chosen_licence().key,
                    "reserved": review.reserved,
                    "public": public,
                },
                now=now,
            )
            if public:
                self._published(connection, record, True, now)
            return record

    def edit(self, review_id: int, draft: Draft, *, public: bool | None = None) -> ReviewRecord:
        """Sign a new version; the vendors that have the review get it too.

        ``public`` None keeps it as it was.

        Raises:
            NotFound: no such review.
            Conflict: it was withdrawn.
            ValueError: the draft does not fit.
        """
        with self.agent._transaction() as (connection, queued, now, max_age):
            sealer = self.agent.sealer
            before = store.get(connection, sealer, review_id)
            keep = before.public if public is None else public
            record = store.edit(connection, sealer, review_id, draft, public=keep, now=now)
            audit.append(
                connection,
                sealer,
                kind="review.edited",
                details={"review": record.id, "version": record.version},
                now=now,
            )
            if keep != before.public:
                self._published(connection, record, keep, now)
            elif keep:
                feed.changed(connection, now=now)
            for sending in record.sent_to:
                relationship = get_relationship(connection, sealer, sending.vendor_id)
                if sending.withdrawal_id is None and _open(relationship):
                    queued.append(self._send(connection, record, relationship, now, max_age))
            return store.get(connection, sealer, review_id)

    def publish(self, review_id: int, public: bool = True) -> ReviewRecord:
        """Put the review in the public feed (``public``), or take it out of it.

        Raises:
            NotFound, Conflict: no such review, or it was withdrawn.
        """
        with self.agent._transaction() as (connection, _queued, now, _max_age):
            before = store.get(connection, self.agent.sealer, review_id)
            record = store.set_public(connection, self.agent.sealer, review_id, public, now=now)
            if public != before.public:
                self._published(connection, record, public, now)
            return record

    def withdraw(self, review_id: int) -> ReviewRecord:
        """Withdraw the review: out of the feed for good, and the vendors that have it told.

        Raises:
            NotFound, Conflict: no such review, or it was withdrawn already.
        """
        with self.agent._transaction() as (connection, queued, now, max_age):
            sealer = self.agent.sealer
            record = store.withdraw(connection, sealer, review_id, now=now)
            if record.public:
                feed.changed(connection, now=now)
            told = []
            for sending in record.sent_to:
                relationship = get_relationship(connection, sealer, sending.vendor_id)
                if sending.withdrawal_id is not None or not _open(relationship):
                    continue
                message_id = send_to_vendor(
                    connection,
                    sealer,
                    relationship,
                    type=REVIEW_WITHDRAW,
                    body=ReviewWithdraw(review=record.review.id),
                    max_age=max_age,
                    now=now,
                )
                sendings.record_withdrawal(connection, record.id, relationship.id, message_id)
                queued.append(message_id)
                told.append(relationship.id)
            audit.append(
                connection,
                sealer,
                kind="review.withdrawn",
                details={"review": record.id, "public": record.public, "vendors": told},
                now=now,
            )
            return store.get(connection, sealer, review_id)

    def send(self, review_id: int, vendor: str) -> ReviewRecord:
        """Send the review to a vendor (number, name, URL or host), over the relationship.

        Raises:
            NotFound: no such review or vendor.
            Conflict: the review was withdrawn, or the vendor has not accepted the
                relationship or it was ended.
        """
        with self.agent._transaction() as (connection, queued, now, max_age):
            sealer = self.agent.sealer
            record = store.get(connection, sealer, review_id)
            if not record.current:
                raise Conflict(f"review {review_id} was withdrawn: it cannot be sent")
            relationship = find_relationship(connection, sealer, vendor)
            if not _open(relationship):
                raise Conflict(
                    f"{relationship.vendor.name} takes reviews only over a relationship it "
                    "accepted and neither side ended"
                )
            queued.append(self._send(connection, record, relationship, now, max_age))
            return store.get(connection, sealer, review_id)

    # reading

    def reviews(self) -> list[ReviewRecord]:
        """Every review, the newest change first."""
        with self.agent.engine.begin() as connection:
            return store.all_reviews(connection, self.agent.sealer)

    def review(self, review_id: int) -> ReviewRecord:
        """One review (NotFound when there is none)."""
        with self.agent.engine.begin() as connection:
            return store.get(connection, self.agent.sealer, review_id)

    def default_author(self) -> str | None:
        """The name the newest review is signed with (never one from the profile)."""
        found = self.reviews()
        return found[0].review.author.name if found else None

    def sendable(self) -> list[Relationship]:
        """The relationships a review can be sent over: accepted, not ended."""
        with self.agent.engine.begin() as connection:
            return [r for r in list_relationships(connection, self.agent.sealer) if _open(r)]

    # the feed

    def feed(self) -> FeedStatus:
        """Whether the feed is on, its address, the reviewer DID, how many reviews it lists."""
        with self.agent.engine.begin() as connection:
            return feed.status(connection, self.agent.sealer)

    def set_feed(self, on: bool) -> FeedStatus:
        """Turn the public feed on or off (the reviewer identity is made when first on)."""
        with self.agent._transaction() as (connection, _queued, now, _max_age):
            sealer = self.agent.sealer
            if feed.load_feed(connection).on != on:
                store.reviewer(connection, sealer, now=now)
                feed.changed(connection, now=now, on=on)
                status = feed.status(connection, sealer)
                details = {"on": on, "reviews": status.reviews, "url": status.url}
                audit.append(connection, sealer, kind="reviews.feed", details=details, now=now)
            return feed.status(connection, sealer)

    def served_feed(self) -> Served | None:
        """The feed document as served to anyone; None while the feed is off."""
        with self.agent.engine.begin() as connection:
            setting = feed.load_feed(connection)
            if not setting.on:
                return None
            cached = self._served
            if cached is not None and cached[0] == setting.revision:
                return cached[1]
            served = feed.document(connection, self.agent.sealer, setting)
        self._served = (setting.revision, served)
        return served

    def served_review(self, review_uuid: str) -> Served | None:
        """One published review as served; None when the feed is off or does not list it."""
        with self.agent.engine.begin() as connection:
            setting = feed.load_feed(connection)
            if not setting.on:
                return None
            wanted = f"urn:uuid:{review_uuid}"
            for record in store.published(connection, self.agent.sealer):
                if record.review.id == wanted:
                    return feed.one(record, setting)
        return None

    # helpers

    def _published(
        self, connection: Connection, record: ReviewRecord, public: bool, now: float
    ) -> None:
        feed.changed(connection, now=now)
        kind = "review.published" if public else "review.unpublished"
        details = {"review": record.id, "item": record.review.itemReviewed.name}
        audit.append(connection, self.agent.sealer, kind=kind, details=details, now=now)

    def _send(
        self,
        connection: Connection,
        record: ReviewRecord,
        relationship: Relationship,
        now: float,
        max_age: float,
    ) -> str:
        sealer: Sealer = self.agent.sealer
        message_id = send_to_vendor(
            connection,
            sealer,
            relationship,
            type=REVIEW,
            body=ReviewMessage(review=record.signed.signed),
            max_age=max_age,
            now=now,
        )
        sendings.record_sending(connection, record, relationship.id, message_id, now=now)
        audit.append(
            connection,
            sealer,
            kind="review.sent",
            details={
                "review": record.id,
                "vendor": relationship.id,
                "version": record.version,
                "item": record.review.itemReviewed.name,
                "message": message_id,
            },
            now=now,
        )
        return message_id


def _open(relationship: Relationship) -> bool:
    """The vendor accepted the relationship and neither side ended it."""
    return (
        relationship.vendor_state == PartyState.ACCEPTED
        and relationship.person_state != PartyState.ENDED
    )
