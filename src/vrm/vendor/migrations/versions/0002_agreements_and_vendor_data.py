"""Agreements with customers, the vendor's own data about them, jobs found by customer.

On SQLite the jobs table is rebuilt with AUTOINCREMENT: erasure deletes a customer's
jobs, and a job id must never be given again while the worker may still be recording
the outcome of the job that had it (PostgreSQL sequences never give an id twice).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables; index jobs by customer (exports and erasure read them so)."""
    op.create_table(
        "agreements",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer", sa.String(512), nullable=False),
        sa.Column("terms_sha256", sa.String(64), nullable=False),
        sa.Column("proffered_by", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("in_answer_to", sa.String(64)),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("proffer_message_id", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("answered_at", sa.Float),
    )
    op.create_index("agreements_by_customer", "agreements", ["customer", "terms_sha256"])
    op.create_index("agreements_by_state", "agreements", ["state", "proffered_by"])
    op.create_table(
        "customer_vendor_data",
        sa.Column("customer", sa.String(512), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("jobs_by_customer", "jobs", ["customer", "queue"])
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "jobs", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass


def downgrade() -> None:
    """Drop them."""
    op.drop_index("jobs_by_customer", "jobs")
    op.drop_table("customer_vendor_data")
    op.drop_table("agreements")
