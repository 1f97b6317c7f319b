"""The exchange's tables (SQLAlchemy Core: the same on SQLite and PostgreSQL).

Nothing here links two intents of one person: each intent comes from a DID made
for it alone, and the exchange keeps no addresses, accounts or cookies of people.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
    text,
)

metadata = MetaData()

vendors = Table(
    "vendors",
    metadata,
    Column("did", String(512), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("inbox", String(2048)),  # NULL: the vendor pulls
    Column("updated_at", Float, nullable=False),  # when it first subscribed
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("vendor", String(512), nullable=False, index=True),
    Column("category", String(200), nullable=False),
    Column("regions", Text, nullable=False),  # JSON list; [] = everywhere
    Column("min_price", Float),
    Column("max_price", Float),
    Column("currency", String(3)),
)

subscription_version = Table(
    "subscription_version",
    metadata,
    Column("id", Integer, primary_key=True),  # one row: 1
    Column("version", BigInteger, nullable=False),  # one more at every change
)

intents = Table(
    "intents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pseudonym", String(512), nullable=False, unique=True),
    Column("message_id", String(128), nullable=False),
    Column("category", String(200), nullable=False, index=True),
    Column("country", String(2), nullable=False),
    Column("region", String(6)),
    Column("min_price", Float, nullable=False),
    Column("max_price", Float, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("pool", Boolean, nullable=False),
    Column("pool_id", Integer, index=True),  # the group it joined, if pooled
    Column("quantity", Integer, nullable=False, server_default="1"),
    Column("token", Text, nullable=False),  # the person's signed intent, as it came
    Column("state", String(16), nullable=False),  # live | withdrawn | expired
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
    # Set while the deliveries to the vendors it matches with an inbox are to be written.
    Column("push_pending", Boolean, nullable=False, server_default=false()),
    Index(
        "ix_intents_push_pending",
        "id",
        sqlite_where=text("push_pending"),
        postgresql_where=text("push_pending"),
    ),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("intent", Integer, nullable=False, index=True),
    Column("vendor", String(512), nullable=False),
    Column("kind", String(16), nullable=False, server_default="match"),  # match | withdrawn
    # pending (to push) | delivered | failed | pull (kept for the vendor to fetch)
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Float, nullable=False),
    Column("give_up_at", Float, nullable=False),
    Column("delivered_at", Float),
    Column("last_error", Text),
)

mailbox = Table(
    "mailbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("recipient", String(512), nullable=False, index=True),
    Column("message", Text, nullable=False),  # a JWE the exchange cannot read
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)

pools = Table(
    "pools",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(256), nullable=False, index=True),  # category|place|currency
    Column("category", String(200), nullable=False),
    Column("min_price", Float, nullable=False),  # the members' ranges, intersected
    Column("max_price", Float, nullable=False),
    Column("properties", Text, nullable=False),  # JSON: the item properties members share
    Column("size", Integer, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("closes_at", Float, nullable=False),
)

signal_budget = Table(
    "signal_budget",
    metadata,
    Column("period", String(10), primary_key=True),  # a UTC day, YYYY-MM-DD
    Column("spent", Float, nullable=False),  # the ε its demand-signal releases cost so far
    Column("updated_at", Float, nullable=False),
)

signal_releases = Table(
    "signal_releases",
    metadata,
    Column("period", String(10), primary_key=True),
    Column("category", String(200), primary_key=True),  # the prefix; "" for every category
    Column("document", Text, nullable=False),  # the release as served (JSON), served again
    Column("epsilon", Float, nullable=False),
    Column("created_at", Float, nullable=False),
)
