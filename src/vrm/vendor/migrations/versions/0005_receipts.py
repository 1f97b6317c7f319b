"""Receipts sent to customers: a copy of each, and at most one per accepted offer.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table."""
    op.create_table(
        "receipts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer", sa.String(512), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("order_number", sa.String(100), nullable=False),
        sa.Column("for_offer", sa.String(128)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("receipt", sa.Text, nullable=False),
        sa.Column("token", sa.Text, nullable=False),
        sa.UniqueConstraint("message_id", name="receipts_message_id_key"),
        sa.UniqueConstraint("for_offer", name="receipts_once_per_offer"),
    )
    op.create_index("ix_receipts_customer", "receipts", ["customer"])


def downgrade() -> None:
    """Drop it."""
    op.drop_table("receipts")
