"""Relationships with vendors, grants of profile fields, and the outbox.

Who the person deals with is personal too: a vendor's name, URL, DID and inbox are
sealed; the clear columns are states, times and keyed fingerprints.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create vendors, grants and outbox."""
    op.create_table(
        "vendors",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("our_did", sa.String(128), sa.ForeignKey("identities.did"), nullable=False),
        sa.Column("vendor_key", sa.LargeBinary, nullable=False),
        sa.Column("sealed_details", sa.LargeBinary, nullable=False),
        sa.Column("person_state", sa.String(16), nullable=False),
        sa.Column("vendor_state", sa.String(16), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("vendors_by_our_did", "vendors", ["our_did"], unique=True)
    # One open relationship per vendor; an ended one may be followed by a new one.
    op.create_index(
        "vendors_open_by_key",
        "vendors",
        ["vendor_key"],
        unique=True,
        sqlite_where=sa.text("person_state != 'ended'"),
    )
    op.create_table(
        "grants",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("vendor_id", sa.Integer, sa.ForeignKey("vendors.id"), nullable=False),
        sa.Column("path_key", sa.LargeBinary, nullable=False),
        sa.Column("sealed_grant", sa.LargeBinary, nullable=False),
        sa.Column("until", sa.String(10)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("revoked_at", sa.Float),
    )
    op.create_index("grants_by_field", "grants", ["path_key", "vendor_id"])
    op.create_index(
        "grants_active_once",
        "grants",
        ["vendor_id", "path_key"],
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("vendor_id", sa.Integer, sa.ForeignKey("vendors.id")),
        sa.Column("message_id", sa.String(128), nullable=False, unique=True),
        sa.Column("type", sa.String(128), nullable=False),
        sa.Column("sealed_message", sa.LargeBinary, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("give_up_at", sa.Float, nullable=False),
        sa.Column("delivered_at", sa.Float),
        sa.Column("last_status", sa.Integer),
        sa.Column("last_code", sa.String(64)),
        sa.Column("sealed_error", sa.LargeBinary),
    )
    op.create_index("outbox_pending", "outbox", ["state", "vendor_id", "id"])


def downgrade() -> None:
    """Drop them."""
    op.drop_table("outbox")
    op.drop_table("grants")
    op.drop_table("vendors")
