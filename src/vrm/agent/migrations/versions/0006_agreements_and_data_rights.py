"""Agreements with vendors, the person's terms per vendor, and data-rights requests.

The agreements themselves (terms, statement, signatures) and the vendors' answers
to data requests are sealed; the clear columns are states, hashes and times.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create agreements and data_requests; vendors get their terms choice."""
    with op.batch_alter_table("vendors") as batch:
        batch.add_column(sa.Column("terms_choice", sa.Text))  # JSON ids; NULL: the default
    op.create_table(
        "agreements",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("vendor_id", sa.Integer, sa.ForeignKey("vendors.id"), nullable=False),
        sa.Column("terms_sha256", sa.String(64), nullable=False),
        sa.Column("proffered_by", sa.String(8), nullable=False),  # person | vendor
        # proffered | alternative | active | rejected | superseded | withdrawn
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("sealed_document", sa.LargeBinary, nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("answered_at", sa.Float),
    )
    op.create_index("agreements_by_vendor", "agreements", ["vendor_id", "state"])
    op.create_table(
        "data_requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("vendor_id", sa.Integer, sa.ForeignKey("vendors.id"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),  # export | erase
        sa.Column("message_id", sa.String(128), nullable=False, unique=True),
        sa.Column("state", sa.String(16), nullable=False),  # requested | answered
        sa.Column("requested_at", sa.Float, nullable=False),
        sa.Column("due_at", sa.Float, nullable=False),
        sa.Column("answered_at", sa.Float),
        sa.Column("sealed_answer", sa.LargeBinary),  # the vendor's signed message (JWS)
    )
    op.create_index("data_requests_by_vendor", "data_requests", ["vendor_id", "kind"])


def downgrade() -> None:
    """Drop what upgrade created."""
    op.drop_table("data_requests")
    op.drop_table("agreements")
    with op.batch_alter_table("vendors") as batch:
        batch.drop_column("terms_choice")
