"""The person's identities: DIDs in clear, seeds sealed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create identities."""
    op.create_table(
        "identities",
        sa.Column("did", sa.String(128), primary_key=True),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("sealed_seed", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_table("identities")
