"""Reviews people sent or the vendor fetched, with their licence.

One row per review (reviewer DID and the review's ``@id``), holding its newest
version as signed, the licence it is under and whether text and data mining is
reserved; the customer who sent it and the feed it came from, when they did. A
withdrawn review keeps only its ids, licence and state: its text is deleted.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table."""
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("reviewer", sa.String(512), nullable=False),
        sa.Column("review_id", sa.String(64), nullable=False),
        sa.Column("customer", sa.String(512)),
        sa.Column("feed_url", sa.String(2048)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("license", sa.String(200), nullable=False),
        sa.Column("reserved", sa.Boolean, nullable=False),
        sa.Column("version", sa.String(20)),
        sa.Column("review", sa.Text),
        sa.Column("token", sa.Text),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("withdrawn_at", sa.Float),
        sa.UniqueConstraint("reviewer", "review_id", name="reviews_once"),
    )
    op.create_index("ix_reviews_customer", "reviews", ["customer"])


def downgrade() -> None:
    """Drop it."""
    op.drop_table("reviews")
