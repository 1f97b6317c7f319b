"""Demand signals: the privacy budget spent per period, and each release as it was served.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
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
        "signal_budget",
        sa.Column("period", sa.String(10), primary_key=True),
        sa.Column("spent", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "signal_releases",
        sa.Column("period", sa.String(10), primary_key=True),
        sa.Column("category", sa.String(200), primary_key=True),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("epsilon", sa.Float, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    """Drop the tables."""
    for table in ("signal_releases", "signal_budget"):
        op.drop_table(table)
