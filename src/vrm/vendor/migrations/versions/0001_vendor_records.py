"""Customers, their fields and history, and the jobs queue.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "customers",
        sa.Column("did", sa.String(512), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("person_state", sa.String(16), nullable=False),
        sa.Column("reply_to", sa.String(2048), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("customers_by_state", "customers", ["state"])
    op.create_table(
        "customer_fields",
        sa.Column("customer", sa.String(512), primary_key=True),
        sa.Column("path", sa.String(128), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("value", sa.Text),
        sa.Column("purpose", sa.String(1024)),
        sa.Column("until", sa.String(10)),
        sa.Column("changed_time", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "customer_field_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer", sa.String(512), nullable=False),
        sa.Column("path", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("value", sa.Text),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
    )
    op.create_index("history_by_customer", "customer_field_history", ["customer", "id"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("queue", sa.String(128), nullable=False),
        sa.Column("customer", sa.String(512), nullable=False),
        sa.Column("event_id", sa.String(160), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("give_up_at", sa.Float, nullable=False),
        sa.Column("delivered_at", sa.Float),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("jobs_pending", "jobs", ["state", "queue", "customer", "id"])
    op.create_index("jobs_event", "jobs", ["queue", "event_id"], unique=True)


def downgrade() -> None:
    """Drop them."""
    for table in ("jobs", "customer_field_history", "customer_fields", "customers"):
        op.drop_table(table)
