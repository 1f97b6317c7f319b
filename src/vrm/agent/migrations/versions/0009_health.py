"""The person's health records: FHIR resources imported from Bundles.

Each resource is kept as it arrived, sealed together with its type, the entry's
fullUrl and the import's source (a file name or label): what a record is about
says much about a person, so nothing of it is in clear. The clear columns are the
id, a keyed fingerprint of the resource's type and own id (so the same resource
imported again replaces the one held, without either in clear), the FHIR version
it was validated in (R5 or R4B: not personal, and a Bundle must not mix them) and
when it was imported.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create health_resources."""
    op.create_table(
        "health_resources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("resource_key", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("fhir_version", sa.String(8), nullable=False),
        sa.Column("imported_at", sa.Float, nullable=False),
        sa.Column("sealed_resource", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    """Drop what upgrade created."""
    op.drop_table("health_resources")
