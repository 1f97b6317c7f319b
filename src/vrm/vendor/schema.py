"""The vendor endpoint's tables (SQLAlchemy Core: the same on SQLite and PostgreSQL).

Migrations in ``migrations/`` create and change them; these definitions are what
the code queries.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text

metadata = MetaData()

customers = Table(
    "customers",
    metadata,
    Column("did", String(512), primary_key=True),
    Column("state", String(16), nullable=False),  # pending | accepted | refused | ended | erased
    Column("person_state", String(16), nullable=False),  # wants | paused | ended
    Column("reply_to", String(2048), nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

fields = Table(
    "customer_fields",
    metadata,
    Column("customer", String(512), primary_key=True),
    Column("path", String(128), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("value", Text),  # JSON; NULL when cleared or revoked
    Column("purpose", String(1024)),
    Column("until", String(10)),
    Column("changed_time", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
)

field_history = Table(
    "customer_field_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer", String(512), nullable=False, index=True),
    Column("path", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("value", Text),
    Column("event", String(16), nullable=False),  # update | revoke
    Column("message_id", String(128), nullable=False),
    Column("received_at", Float, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("queue", String(128), nullable=False),  # "message" or "adapter:<name>"
    Column("customer", String(512), nullable=False),  # order is kept per (queue, customer)
    Column("event_id", String(160), nullable=False),
    Column("payload", Text, nullable=False),
    Column("state", String(16), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("next_attempt_at", Float, nullable=False),
    Column("give_up_at", Float, nullable=False),
    Column("delivered_at", Float),
    Column("last_error", Text),
    sqlite_autoincrement=True,  # ids never reused: erasure deletes jobs the worker may hold
)

agreements = Table(
    "agreements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer", String(512), nullable=False),
    Column("terms_sha256", String(64), nullable=False),
    Column("proffered_by", String(16), nullable=False),  # person | vendor
    # proffered | alternative (answered with the vendor's) | active | rejected | superseded
    Column("state", String(16), nullable=False),
    Column("in_answer_to", String(64)),  # the vendor's alternative: the hash of what it answers
    Column("document", Text, nullable=False),  # the Proffer as JSON; the Agreement once signed
    Column("proffer_message_id", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("answered_at", Float),
)

vendor_data = Table(
    "customer_vendor_data",
    metadata,
    Column("customer", String(512), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", Text, nullable=False),  # JSON
    Column("updated_at", Float, nullable=False),
)
