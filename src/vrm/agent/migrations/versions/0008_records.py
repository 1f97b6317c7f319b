"""The person's records: vendors' signed receipts, and the decision journal.

A receipt is kept as the vendor signed it (the compact JWS), sealed; the clear
columns are ids, the order's date, times, and keyed fingerprints of the order
number and of the offer it follows (so a correction finds the receipt it replaces,
and an intent finds the receipt of the offer taken, without either in clear). A
receipt replaced by a newer one for the same order stays, marked by the one that
replaced it. The journal keeps the person's note on an intent, sealed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create receipts and journal."""
    op.create_table(
        "receipts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("vendor_id", sa.Integer, sa.ForeignKey("vendors.id"), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("order_number_key", sa.LargeBinary, nullable=False),
        sa.Column("offer_key", sa.LargeBinary),
        sa.Column("order_date", sa.String(10), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),  # the message's created_time
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("superseded_by", sa.Integer, sa.ForeignKey("receipts.id")),
        sa.Column("sealed_message", sa.LargeBinary, nullable=False),  # the vendor's signed JWS
    )
    # Message ids are chosen by their senders: unique per vendor, as the replay store keys them.
    op.create_index("receipts_once", "receipts", ["vendor_id", "message_id"], unique=True)
    op.create_index("receipts_by_order", "receipts", ["vendor_id", "order_number_key"])
    op.create_index("receipts_by_offer", "receipts", ["offer_key"])
    op.create_table(
        "journal",
        sa.Column("intent_id", sa.Integer, sa.ForeignKey("intents.id"), primary_key=True),
        sa.Column("sealed_note", sa.LargeBinary, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    """Drop what upgrade created."""
    op.drop_table("journal")
    op.drop_table("receipts")
