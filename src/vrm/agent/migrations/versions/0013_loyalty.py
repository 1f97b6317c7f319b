"""Membership credentials vendors issued to the person.

A credential is kept as the vendor signed it (compact JWS), sealed, with its
revocation's reason, sealed too; the clear columns are ids, times and a keyed
fingerprint of the credential's id (so a newer credential with the same id finds
the one it replaces, without the id in clear). Loyalty and brand preferences need
no table: they are profile fields (``preference.brands``, ``preference.loyalty``)
shared through grants like every other field.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create memberships."""
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("vendor_id", sa.Integer, sa.ForeignKey("vendors.id"), nullable=False),
        sa.Column("credential_key", sa.LargeBinary, nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),  # the one it came in, last
        sa.Column("valid_from", sa.Float, nullable=False),  # of the credential kept
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("revoked_at", sa.Float),
        sa.Column("sealed_credential", sa.LargeBinary, nullable=False),
        sa.Column("sealed_reason", sa.LargeBinary),
    )
    op.create_index("memberships_once", "memberships", ["vendor_id", "credential_key"], unique=True)


def downgrade() -> None:
    """Drop what upgrade created."""
    op.drop_table("memberships")
