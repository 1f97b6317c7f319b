"""Vendors and their subscriptions, intents, deliveries to vendors, and the offers mailbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "vendors",
        sa.Column("did", sa.String(512), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("inbox", sa.String(2048)),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("vendor", sa.String(512), nullable=False, index=True),
        sa.Column("category", sa.String(200), nullable=False),
        sa.Column("regions", sa.Text, nullable=False),
        sa.Column("min_price", sa.Float),
        sa.Column("max_price", sa.Float),
        sa.Column("currency", sa.String(3)),
    )
    op.create_table(
        "intents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("pseudonym", sa.String(512), nullable=False, unique=True),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("category", sa.String(200), nullable=False, index=True),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("region", sa.String(6)),
        sa.Column("min_price", sa.Float, nullable=False),
        sa.Column("max_price", sa.Float, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("pool", sa.Boolean, nullable=False),
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False, index=True),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("intent", sa.Integer, nullable=False, index=True),
        sa.Column("vendor", sa.String(512), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("give_up_at", sa.Float, nullable=False),
        sa.Column("delivered_at", sa.Float),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("deliveries_due", "deliveries", ["state", "next_attempt_at"])
    op.create_index("deliveries_by_vendor", "deliveries", ["vendor", "id"])
    op.create_table(
        "mailbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("recipient", sa.String(512), nullable=False, index=True),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    """Drop the tables."""
    for table in ("mailbox", "deliveries", "intents", "subscriptions", "vendors"):
        op.drop_table(table)
