"""Intentcasting: the exchanges subscribed at, the intents they matched, the offers made.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "exchanges",
        sa.Column("url", sa.String(2048), primary_key=True),
        sa.Column("did", sa.String(512)),
        sa.Column("inbox", sa.String(2048)),
        sa.Column("push", sa.Boolean, nullable=False),
        sa.Column("cursor", sa.Integer, nullable=False),
        sa.Column("subscribed_at", sa.Float),
        sa.Column("last_error", sa.Text),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("exchanges_by_did", "exchanges", ["did"])
    op.create_table(
        "matched_intents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("exchange", sa.String(512), nullable=False),
        sa.Column("mailbox", sa.String(2048), nullable=False),
        sa.Column("pseudonym", sa.String(512), nullable=False),
        sa.Column("intent_id", sa.String(128), nullable=False),
        sa.Column("category", sa.String(200), nullable=False),
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("demand", sa.Text, nullable=False),
        sa.Column("terms", sa.Text, nullable=False),
        sa.Column("pool", sa.Integer, nullable=False),
        sa.Column("pool_id", sa.String(128)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.UniqueConstraint("pseudonym", "intent_id", name="matched_intents_once"),
    )
    op.create_index("matched_intents_by_state", "matched_intents", ["state", "expires_at"])
    op.create_table(
        "offers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("intent", sa.Integer, sa.ForeignKey("matched_intents.id"), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False, unique=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("sent_at", sa.Float, nullable=False),
        sa.Column("answered_at", sa.Float),
        sa.Column("reason", sa.Text),
    )
    op.create_index("offers_by_intent", "offers", ["intent"])


def downgrade() -> None:
    """Drop them."""
    op.drop_table("offers")
    op.drop_table("matched_intents")
    op.drop_table("exchanges")
