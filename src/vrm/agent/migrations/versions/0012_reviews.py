"""The person's reviews and the public feed setting.

``reviews``: each review the person wrote, kept as they signed it (the compact JWS
of its newest version), sealed and bound to its row and version. In clear stay
the number, the review's random UUID (its ``@id``, which the public feed's
addresses use), whether it is public, whether it was withdrawn, the version
count and times. ``review_sendings``: to which vendor (relationship) each review
was sent, which version, and the withdrawal sent after it. The feed's switch and
revision are a row of ``settings`` (none of it is personal). The reviewer DID is
an identity of its own (``identities``, purpose ``reviewer``).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create reviews and review_sendings."""
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("state", sa.String(16), nullable=False),  # current | withdrawn
        sa.Column("public", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("sealed_review", sa.LargeBinary, nullable=False),  # the signed review (JWS)
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("withdrawn_at", sa.Float),
        sqlite_autoincrement=True,  # a review's number is never given to another
    )
    op.create_table(
        "review_sendings",
        sa.Column("review_id", sa.Integer, sa.ForeignKey("reviews.id"), primary_key=True),
        sa.Column("vendor_id", sa.Integer, sa.ForeignKey("vendors.id"), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("sent_at", sa.Float, nullable=False),
        sa.Column("withdrawal_id", sa.String(128)),  # the review.withdraw message, once sent
    )


def downgrade() -> None:
    """Drop what upgrade created."""
    op.drop_table("review_sendings")
    op.drop_table("reviews")
