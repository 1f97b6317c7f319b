"""To which vendors each review went, which version each got, and the withdrawals sent.

Kept in clear: review and relationship numbers, versions, message ids, times — what
the outbox holds too. Every function works in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, text

if TYPE_CHECKING:
    from vrm.agent.reviews.store import ReviewRecord


@dataclass(frozen=True)
class Sending:
    """A vendor the review was sent to: which version, when, and whether it was withdrawn."""

    vendor_id: int
    version: int
    message_id: str
    sent_at: float
    withdrawal_id: str | None

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "vendor_id": self.vendor_id,
            "version": self.version,
            "message_id": self.message_id,
            "sent_at": self.sent_at,
            "withdrawn": self.withdrawal_id is not None,
        }


def record_sending(
    connection: Connection, review: ReviewRecord, vendor_id: int, message_id: str, *, now: float
) -> None:
    """Note that ``message_id`` sent the review's newest version to the vendor."""
    connection.execute(
        text(
            "INSERT INTO review_sendings (review_id, vendor_id, version, message_id, sent_at)"
            " VALUES (:review, :vendor, :version, :message, :now)"
            " ON CONFLICT (review_id, vendor_id) DO UPDATE SET version = excluded.version,"
            " message_id = excluded.message_id, sent_at = excluded.sent_at, withdrawal_id = NULL"
        ),
        {
            "review": review.id,
            "vendor": vendor_id,
            "version": review.version,
            "message": message_id,
            "now": now,
        },
    )


def record_withdrawal(
    connection: Connection, review_id: int, vendor_id: int, message_id: str
) -> None:
    """Note that ``message_id`` withdrew the review from the vendor."""
    connection.execute(
        text(
            "UPDATE review_sendings SET withdrawal_id = :message"
            " WHERE review_id = :review AND vendor_id = :vendor"
        ),
        {"message": message_id, "review": review_id, "vendor": vendor_id},
    )


def by_review(connection: Connection) -> dict[int, list[Sending]]:
    """Every review's sendings, by review number, the oldest first."""
    found: dict[int, list[Sending]] = {}
    for row in connection.execute(
        text(
            "SELECT review_id, vendor_id, version, message_id, sent_at, withdrawal_id"
            " FROM review_sendings ORDER BY sent_at, vendor_id"
        )
    ):
        found.setdefault(row.review_id, []).append(
            Sending(row.vendor_id, row.version, row.message_id, row.sent_at, row.withdrawal_id)
        )
    return found
