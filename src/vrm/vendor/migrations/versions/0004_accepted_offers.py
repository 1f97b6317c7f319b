"""Accepted offers name their customer: the pairwise DID the person took the offer from.

The person's ``offer.accept`` (signed by the intent's pseudonym) names the DID of
the relationship that takes the offer; ``NULL`` for offers not accepted.

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
    """Offers get their customer."""
    with op.batch_alter_table("offers") as batch:
        batch.add_column(sa.Column("customer", sa.String(512)))


def downgrade() -> None:
    """Drop it."""
    with op.batch_alter_table("offers") as batch:
        batch.drop_column("customer")
