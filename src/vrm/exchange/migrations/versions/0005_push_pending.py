"""Deliveries written after the intake; a version of the subscriptions.

An intent is marked while its deliveries to vendors with an inbox are still to be
written; the subscriptions have a version, so each process knows when its index is behind.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_PENDING = sa.text("push_pending")


def upgrade() -> None:
    """Intents get ``push_pending``, indexed only while it is set."""
    with op.batch_alter_table("intents") as batch:
        batch.add_column(
            sa.Column("push_pending", sa.Boolean, nullable=False, server_default=sa.false())
        )
    op.create_index(
        "ix_intents_push_pending",
        "intents",
        ["id"],
        sqlite_where=_PENDING,
        postgresql_where=_PENDING,
    )
    versions = op.create_table(
        "subscription_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(versions, [{"id": 1, "version": 0}])


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_table("subscription_version")
    op.drop_index("ix_intents_push_pending", table_name="intents")
    with op.batch_alter_table("intents") as batch:
        batch.drop_column("push_pending")
