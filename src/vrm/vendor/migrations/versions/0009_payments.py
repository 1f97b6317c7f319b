"""Payment notices received from people, and the acknowledgements sent.

One row per payment a payer (a pseudonymous DID) told the endpoint of: the notice
as signed, with the person's terms, and the id of the receipt sent back. A payer's
repeated notice for the same payment finds its row and gets the same receipt.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table."""
    op.create_table(
        "payments_received",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("payer", sa.String(512), nullable=False),
        sa.Column("payment", sa.String(128), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("amount", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("notice", sa.Text, nullable=False),
        sa.Column("receipt_id", sa.String(128), nullable=False),
        sa.Column("receipt", sa.Text, nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.UniqueConstraint("payer", "payment", name="payments_received_once"),
    )
    op.create_index("ix_payments_received_month", "payments_received", ["month"])


def downgrade() -> None:
    """Drop it."""
    op.drop_table("payments_received")
