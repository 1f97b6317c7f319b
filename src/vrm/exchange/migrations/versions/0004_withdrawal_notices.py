"""Deliveries of two kinds: an intent matched, or the withdrawal of one pushed before.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Deliveries get their kind (match | withdrawn)."""
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="match"))


def downgrade() -> None:
    """Drop what upgrade added."""
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("kind")
