"""The decision journal: for one intent, what was wanted, what was considered, and why.

An entry is read together from what the agent already keeps — the intent, every
offer that came for it and the person's answer to each, the offer taken — plus the
person's own note (sealed, one per intent) and the receipt that followed: the
seller's receipt naming the taken offer's message id (``Receipt.offer``), sent
over the relationship the offer was taken with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from vrm.agent.audit import service as audit
from vrm.agent.intents import service as intents
from vrm.agent.intents.service import IntentRecord, OfferRecord
from vrm.agent.records.receipts import ReceiptRecord, receipts_for_offer
from vrm.vault import Sealer

MAX_NOTE_CHARS = 10_000


@dataclass(frozen=True)
class JournalEntry:
    """One intent's decision: wanted, considered, taken, why, and the receipt after."""

    intent: IntentRecord
    offers: list[OfferRecord]
    """Every offer that came, in the order they came, each with the person's answer."""
    taken: OfferRecord | None
    note: str | None
    """The person's note: why they chose as they did."""
    noted_at: float | None
    receipts: list[ReceiptRecord]
    """The seller's current receipts for the offer taken, newest order first."""

    @property
    def receipt(self) -> ReceiptRecord | None:
        """The receipt that followed the offer taken (the newest, if there were several)."""
        return self.receipts[0] if self.receipts else None

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "intent": self.intent.as_json(),
            "offers": [offer.as_json() for offer in self.offers],
            "taken": None if self.taken is None else self.taken.id,
            "note": self.note,
            "noted_at": self.noted_at,
            "receipts": [record.as_json() for record in self.receipts],
        }


def journal(connection: Connection, sealer: Sealer, intent_id: int) -> JournalEntry:
    """The journal entry of one intent.

    Raises:
        NotFound: there is no such intent.
    """
    record = intents.get_intent(connection, sealer, intent_id)
    offers = intents.offers_of(connection, sealer, intent_id)
    taken = next((offer for offer in offers if offer.state == intents.ACCEPTED), None)
    row = connection.execute(
        text("SELECT sealed_note, updated_at FROM journal WHERE intent_id = :intent"),
        {"intent": intent_id},
    ).first()
    followed: list[ReceiptRecord] = []
    if taken is not None and taken.vendor_id is not None:
        followed = receipts_for_offer(
            connection, sealer, offer_message_id=taken.message_id, vendor_id=taken.vendor_id
        )
    return JournalEntry(
        intent=record,
        offers=offers,
        taken=taken,
        note=None if row is None else sealer.open_text(row.sealed_note, _place(intent_id)),
        noted_at=None if row is None else row.updated_at,
        receipts=followed,
    )


def set_note(
    connection: Connection, sealer: Sealer, intent_id: int, note: str, *, now: float
) -> JournalEntry:
    """Write the person's note on an intent; blank text clears it.

    Raises:
        NotFound: there is no such intent.
        ValueError: the note is longer than :data:`MAX_NOTE_CHARS`.
    """
    intents.get_intent(connection, sealer, intent_id)
    note = note.strip()
    if len(note) > MAX_NOTE_CHARS:
        raise ValueError(f"a note holds at most {MAX_NOTE_CHARS:,} characters")
    if note:
        connection.execute(
            text(
                "INSERT INTO journal (intent_id, sealed_note, updated_at)"
                " VALUES (:intent, :sealed, :now) ON CONFLICT (intent_id)"
                " DO UPDATE SET sealed_note = excluded.sealed_note,"
                " updated_at = excluded.updated_at"
            ),
            {"intent": intent_id, "sealed": sealer.seal_text(note, _place(intent_id)), "now": now},
        )
    else:
        connection.execute(
            text("DELETE FROM journal WHERE intent_id = :intent"), {"intent": intent_id}
        )
    audit.append(
        connection,
        sealer,
        kind="journal.noted" if note else "journal.cleared",
        details={"intent": intent_id},
        now=now,
    )
    return journal(connection, sealer, intent_id)


def _place(intent_id: int) -> str:
    return f"journal/{intent_id}"
