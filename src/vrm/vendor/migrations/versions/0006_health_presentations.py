"""Health records presented by patients, kept until their grant ends.

One row per presentation a customer made: the FHIR Bundle and the purpose while it
is held, until ``valid_until``; once deleted (withdrawn, expired, the relationship
ended, the record erased) only a tombstone is left — when and why, and how many
resources it held — so that a presentation withdrawn before it arrives is never kept.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table."""
    op.create_table(
        "health_presentations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer", sa.String(512), nullable=False),
        sa.Column("presentation", sa.String(128), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("fhir_version", sa.String(8), nullable=False),
        sa.Column("resources", sa.Integer, nullable=False),
        sa.Column("purpose", sa.Text),
        sa.Column("bundle", sa.Text),
        sa.Column("valid_until", sa.Float, nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("deleted_at", sa.Float),
        sa.Column("deleted_because", sa.String(16)),
        sa.UniqueConstraint("customer", "presentation", name="health_presentations_once"),
    )
    op.create_index("ix_health_presentations_customer", "health_presentations", ["customer"])
    op.create_index("ix_health_presentations_valid_until", "health_presentations", ["valid_until"])


def downgrade() -> None:
    """Drop it."""
    op.drop_table("health_presentations")
