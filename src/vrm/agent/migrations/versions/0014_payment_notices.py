"""Payment notices sent to payees and their signed acknowledgements.

``payee_contacts``: the DID the person uses with one payee (in clear, as every
pairwise DID is: the inbox finds the identity by it) and, sealed, the payee's DID
and inbox as first found. ``payment_notices``: for each paid payment, the notice
sent (sealed) and, once it came, the payee's signed receipt (sealed, as received).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create payee_contacts and payment_notices."""
    op.create_table(
        "payee_contacts",
        sa.Column("payee_id", sa.Integer, sa.ForeignKey("payees.id"), primary_key=True),
        sa.Column("our_did", sa.String(128), nullable=False, unique=True),
        sa.Column("sealed_contact", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "payment_notices",
        sa.Column("payment_id", sa.Integer, sa.ForeignKey("payments.id"), primary_key=True),
        sa.Column("notice_id", sa.String(128), nullable=False, unique=True),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("sealed_notice", sa.LargeBinary, nullable=False),
        sa.Column("sealed_receipt", sa.LargeBinary),
        sa.Column("sent_at", sa.Float, nullable=False),
        sa.Column("acknowledged_at", sa.Float),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("payment_notices")
    op.drop_table("payee_contacts")
