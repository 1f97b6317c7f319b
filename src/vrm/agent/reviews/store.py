"""The person's reviews, kept as they signed them: sealed, and verified again when read.

Each review is kept as the compact JWS of its newest version, sealed and bound to
its row and version, so a ciphertext moved to another row or version does not
open. It is signed by the person's reviewer identity — one for all their reviews,
made on first use, linked to no relationship. Which vendors it was sent to, and
the version each got, is kept beside it. Every function works in the caller's
transaction; the rules (who is told what, the audit log) are the desk's; which vendor got which
version is :mod:`vrm.agent.reviews.sendings`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from vrm.agent.errors import Conflict, NotFound
from vrm.agent.identities.service import Purpose, create_identity, list_identities, load_identity
from vrm.agent.reviews import sendings
from vrm.agent.reviews.sendings import Sending
from vrm.agent.reviews.writing import Draft, compose
from vrm.protocol import Identity, Review, SignedReview, sign_review, verify_review
from vrm.protocol.v1.reviews import parse_time, time_text
from vrm.vault import Sealer

CURRENT, WITHDRAWN = "current", "withdrawn"


@dataclass(frozen=True)
class ReviewRecord:
    """One of the person's reviews, its signature checked when it was read."""

    id: int
    state: str
    public: bool
    version: int
    signed: SignedReview
    created_at: float
    updated_at: float
    withdrawn_at: float | None
    sent_to: tuple[Sending, ...]

    @property
    def review(self) -> Review:
        """The schema.org Review of the newest version."""
        return self.signed.review

    @property
    def current(self) -> bool:
        """True unless the person withdrew it."""
        return self.state == CURRENT

    @property
    def published(self) -> bool:
        """True when it is in the public feed (if the feed is on): public and not withdrawn."""
        return self.public and self.current

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict: the review, its state, the signed document, where it went."""
        return {
            "id": self.id,
            "review_id": self.review.id,
            "state": self.state,
            "public": self.public,
            "version": self.version,
            "reviewer": self.signed.reviewer,
            "review": self.review.as_json(),
            "signed": self.signed.signed,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "withdrawn_at": self.withdrawn_at,
            "sent_to": [sending.as_json() for sending in self.sent_to],
        }


def reviewer(connection: Connection, sealer: Sealer, *, now: float) -> Identity:
    """The person's reviewer identity, made the first time it is needed."""
    found = list_identities(connection, purpose=Purpose.REVIEWER)
    if found:
        identity = load_identity(connection, sealer, did=found[0].did)
        assert identity is not None  # noqa: S101 - listed a moment ago, in this transaction
        return identity
    return create_identity(connection, sealer, purpose=Purpose.REVIEWER, now=now)


def reviewer_did(connection: Connection) -> str | None:
    """The reviewer DID, or None before the first review."""
    found = list_identities(connection, purpose=Purpose.REVIEWER)
    return found[0].did if found else None


def write(
    connection: Connection, sealer: Sealer, draft: Draft, *, public: bool, now: float
) -> ReviewRecord:
    """Keep a new review, signed by the reviewer identity.

    Raises:
        ValueError: the draft does not fit (the first problem, in words).
    """
    signer = reviewer(connection, sealer, now=now)
    review_uuid = str(uuid.uuid4())
    review = compose(
        draft,
        review_id=f"urn:uuid:{review_uuid}",
        reviewer=signer.did,
        published=time_text(now),
        modified=None,
    )
    token = sign_review(review, signer)
    review_id = int(
        connection.execute(
            text(
                "INSERT INTO reviews (uuid, state, public, version, sealed_review, created_at,"
                " updated_at) VALUES (:uuid, :state, :public, 1, :sealed, :now, :now)"
                " RETURNING id"
            ),
            {"uuid": review_uuid, "state": CURRENT, "public": public, "sealed": b"", "now": now},
        ).scalar_one()
    )
    _seal(connection, sealer, review_id, 1, token)
    return get(connection, sealer, review_id)


def edit(
    connection: Connection,
    sealer: Sealer,
    review_id: int,
    draft: Draft,
    *,
    public: bool,
    now: float,
) -> ReviewRecord:
    """Keep a new version: the same ``@id``, a later ``dateModified``, signed again.

    Raises:
        NotFound: no such review.
        Conflict: it was withdrawn.
        ValueError: the draft does not fit.
    """
    held = _open_for_change(connection, sealer, review_id)
    before = held.review
    # A version is later than the one it replaces, even when made within the same second.
    previous = parse_time(before.version, "the previous version").timestamp()
    review = compose(
        draft,
        review_id=before.id,
        reviewer=held.signed.reviewer,
        published=before.datePublished,
        modified=time_text(max(now, previous + 1)),
    )
    signer = reviewer(connection, sealer, now=now)
    version = held.version + 1
    connection.execute(
        text(
            "UPDATE reviews SET version = :version, public = :public, updated_at = :now"
            " WHERE id = :id"
        ),
        {"version": version, "public": public, "now": now, "id": review_id},
    )
    _seal(connection, sealer, review_id, version, sign_review(review, signer))
    return get(connection, sealer, review_id)


def set_public(
    connection: Connection, sealer: Sealer, review_id: int, public: bool, *, now: float
) -> ReviewRecord:
    """Put the review in the public feed, or take it out (it stays the same version).

    Raises:
        NotFound, Conflict: no such review, or it was withdrawn.
    """
    _open_for_change(connection, sealer, review_id)
    connection.execute(
        text("UPDATE reviews SET public = :public, updated_at = :now WHERE id = :id"),
        {"public": public, "now": now, "id": review_id},
    )
    return get(connection, sealer, review_id)


def withdraw(connection: Connection, sealer: Sealer, review_id: int, *, now: float) -> ReviewRecord:
    """Withdraw the review: out of the feed for good; the person's own copy stays, sealed.

    Raises:
        NotFound, Conflict: no such review, or it was withdrawn already.
    """
    _open_for_change(connection, sealer, review_id)
    connection.execute(
        text(
            "UPDATE reviews SET state = :state, withdrawn_at = :now, updated_at = :now"
            " WHERE id = :id"
        ),
        {"state": WITHDRAWN, "now": now, "id": review_id},
    )
    return get(connection, sealer, review_id)


def get(connection: Connection, sealer: Sealer, review_id: int) -> ReviewRecord:
    """The review with this number.

    Raises:
        NotFound: there is none.
    """
    found = _select(connection, sealer, "WHERE id = :id", {"id": review_id})
    if not found:
        raise NotFound(f"no review {review_id}")
    return found[0]


def all_reviews(connection: Connection, sealer: Sealer) -> list[ReviewRecord]:
    """Every review, the newest change first."""
    return _select(connection, sealer, "", {})


def published(connection: Connection, sealer: Sealer) -> list[ReviewRecord]:
    """The reviews the feed lists: public and not withdrawn, the newest change first."""
    return _select(connection, sealer, "WHERE public AND state = :state", {"state": CURRENT})


def _open_for_change(connection: Connection, sealer: Sealer, review_id: int) -> ReviewRecord:
    held = get(connection, sealer, review_id)
    if not held.current:
        raise Conflict(f"review {review_id} was withdrawn: it cannot change any more")
    return held


def _seal(connection: Connection, sealer: Sealer, review_id: int, version: int, token: str) -> None:
    connection.execute(
        text("UPDATE reviews SET sealed_review = :sealed WHERE id = :id"),
        {"sealed": sealer.seal_text(token, _place(review_id, version)), "id": review_id},
    )


_SELECT = (
    "SELECT id, state, public, version, sealed_review, created_at, updated_at, withdrawn_at"
    " FROM reviews "
)


def _select(
    connection: Connection, sealer: Sealer, where: str, parameters: dict[str, Any]
) -> list[ReviewRecord]:
    rows = connection.execute(
        text(_SELECT + where + " ORDER BY updated_at DESC, id DESC"), parameters
    ).all()
    sent = sendings.by_review(connection)
    return [
        ReviewRecord(
            id=row.id,
            state=row.state,
            public=bool(row.public),
            version=row.version,
            signed=verify_review(sealer.open_text(row.sealed_review, _place(row.id, row.version))),
            created_at=row.created_at,
            updated_at=row.updated_at,
            withdrawn_at=row.withdrawn_at,
            sent_to=tuple(sent.get(row.id, ())),
        )
        for row in rows
    ]


def _place(review_id: int, version: int) -> str:
    return f"reviews/{review_id}/v{version}"
