"""Membership credentials issued to customers, and the list of those no longer good.

One row per membership (its credential's id): the customer, the program, the
current credential as signed and its digest — a credential issued again (a new
tier) keeps the id, so an older one shown at a checkout is known as replaced.
``revoked_memberships`` holds the ids of credentials revoked or erased with their
customer: no personal data, only what a checkout must refuse.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the two tables."""
    op.create_table(
        "memberships",
        sa.Column("id", sa.String(45), primary_key=True),
        sa.Column("customer", sa.String(512), nullable=False),
        sa.Column("program", sa.String(80), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("credential", sa.Text, nullable=False),
        sa.Column("digest", sa.String(43), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("issued_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("revoked_at", sa.Float),
    )
    op.create_index("ix_memberships_customer", "memberships", ["customer"])
    op.create_table(
        "revoked_memberships",
        sa.Column("id", sa.String(45), primary_key=True),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("revoked_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("revoked_memberships")
    op.drop_table("memberships")
