"""Group intents: pools of compatible intents, and each intent's pool and quantity.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create pools; intents get their pool and quantity."""
    op.create_table(
        "pools",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(256), nullable=False, index=True),
        sa.Column("category", sa.String(200), nullable=False),
        sa.Column("min_price", sa.Float, nullable=False),
        sa.Column("max_price", sa.Float, nullable=False),
        sa.Column("properties", sa.Text, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("closes_at", sa.Float, nullable=False),
    )
    with op.batch_alter_table("intents") as batch:
        batch.add_column(sa.Column("pool_id", sa.Integer))
        batch.add_column(sa.Column("quantity", sa.Integer, nullable=False, server_default="1"))
        batch.create_index("ix_intents_pool_id", ["pool_id"])


def downgrade() -> None:
    """Drop what upgrade created."""
    with op.batch_alter_table("intents") as batch:
        batch.drop_index("ix_intents_pool_id")
        batch.drop_column("quantity")
        batch.drop_column("pool_id")
    op.drop_table("pools")
