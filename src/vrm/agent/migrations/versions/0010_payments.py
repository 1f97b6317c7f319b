"""EmanciPay: the monthly budget, payees, logged uses, and the payments ledger.

Everything personal is sealed, bound to its row: the budget; each payee's name,
endpoint, share rule and terms; each use's units and note; each planned month's
budget and what was left unallocated; each payment's amount and currency, and the
provider's reference and last error. In clear stay numbers, months, states,
counts, times, and each payment's idempotency key (a keyed digest of month and
payee: it says nothing without the data key, and is what the provider sees).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create payment_budget, payees, payment_uses, payment_months and payments."""
    op.create_table(
        "payment_budget",
        sa.Column("id", sa.Integer, sa.CheckConstraint("id = 1"), primary_key=True),
        sa.Column("sealed_budget", sa.LargeBinary, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "payees",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sealed_payee", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("removed_at", sa.Float),
        sqlite_autoincrement=True,  # a removed payee's number is never given to another
    )
    op.create_table(
        "payment_uses",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("payee_id", sa.Integer, sa.ForeignKey("payees.id"), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("sealed_use", sa.LargeBinary, nullable=False),
        sa.Column("logged_at", sa.Float, nullable=False),
    )
    op.create_index("payment_uses_by_month", "payment_uses", ["month", "payee_id"])
    op.create_table(
        "payment_months",
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("sealed_plan", sa.LargeBinary, nullable=False),
        sa.Column("planned_at", sa.Float, nullable=False),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("month", sa.String(7), sa.ForeignKey("payment_months.month"), nullable=False),
        sa.Column("payee_id", sa.Integer, sa.ForeignKey("payees.id"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),  # planned, paying, paid, failed
        sa.Column("idempotency_key", sa.String(64), nullable=False, unique=True),
        sa.Column("sealed_payment", sa.LargeBinary, nullable=False),
        sa.Column("sealed_outcome", sa.LargeBinary),
        sa.Column("retryable", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("paid_at", sa.Float),
        sa.UniqueConstraint("month", "payee_id", name="payments_once"),
    )


def downgrade() -> None:
    """Drop what upgrade created."""
    op.drop_table("payments")
    op.drop_table("payment_months")
    op.drop_index("payment_uses_by_month", "payment_uses")
    op.drop_table("payment_uses")
    op.drop_table("payees")
    op.drop_table("payment_budget")
