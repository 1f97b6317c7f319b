"""The profile: fields (sealed paths, looked up by fingerprint) and their versions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create profile_fields and profile_versions."""
    op.create_table(
        "profile_fields",
        sa.Column("path_key", sa.LargeBinary(16), primary_key=True),
        sa.Column("sealed_path", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "profile_versions",
        sa.Column(
            "path_key",
            sa.LargeBinary(16),
            sa.ForeignKey("profile_fields.path_key"),
            primary_key=True,
        ),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("sealed_value", sa.LargeBinary, nullable=False),
        sa.Column("changed_at", sa.Float, nullable=False),
        sa.Column("changed_by", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("profile_versions")
    op.drop_table("profile_fields")
