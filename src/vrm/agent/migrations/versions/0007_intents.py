"""Intents the person published, and the offers vendors sent them.

What the person wants and what vendors offer is personal: both are sealed. The
clear columns are states, times, the pseudonym's DID (its key is in identities)
and the mailbox cursor.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create intents and offers."""
    op.create_table(
        "intents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("pseudonym", sa.String(128), sa.ForeignKey("identities.did"), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("sealed_intent", sa.LargeBinary, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),  # live | withdrawn | accepted
        sa.Column("mailbox_cursor", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("intents_by_pseudonym", "intents", ["pseudonym"], unique=True)
    op.create_table(
        "offers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("intent_id", sa.Integer, sa.ForeignKey("intents.id"), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("sealed_offer", sa.LargeBinary, nullable=False),  # the vendor's signed JWS
        sa.Column("state", sa.String(16), nullable=False),  # received | accepted | declined
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("answered_at", sa.Float),
        sa.Column("vendor_id", sa.Integer, sa.ForeignKey("vendors.id")),
    )
    op.create_index("offers_once", "offers", ["intent_id", "message_id"], unique=True)


def downgrade() -> None:
    """Drop what upgrade created."""
    op.drop_table("offers")
    op.drop_table("intents")
