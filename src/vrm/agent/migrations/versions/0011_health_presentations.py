"""Health records presented to doctors under time-limited grants.

One row per presentation: the vendor it went to, the id it carries (random, the same
in its withdrawal and the doctor's confirmation), when it was made and when its grant
ends, its state (``active``, ``withdrawn``, ``expired``, ``ended``) and, once the
doctor confirmed deleting it, when and why, with the doctor's signed confirmation
(sealed, as it arrived). What was presented — which records, of what kinds, the
purpose — is sealed: it says much about a person. The clear columns are ids, states
and times.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create health_presentations."""
    op.create_table(
        "health_presentations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("vendor_id", sa.Integer, sa.ForeignKey("vendors.id"), nullable=False),
        sa.Column("presentation", sa.String(128), nullable=False, unique=True),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("sealed_details", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("valid_until", sa.Float, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("ended_at", sa.Float),
        sa.Column("withdraw_message_id", sa.String(128)),
        sa.Column("deleted_at", sa.Float),
        sa.Column("deleted_because", sa.String(16)),
        sa.Column("sealed_confirmation", sa.LargeBinary),
    )
    op.create_index("health_presentations_by_state", "health_presentations", ["state"])


def downgrade() -> None:
    """Drop what upgrade created."""
    op.drop_table("health_presentations")
