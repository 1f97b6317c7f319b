"""The vendor endpoint's tables (SQLAlchemy Core: the same on SQLite and PostgreSQL).

Migrations in ``migrations/`` create and change them; these definitions are what
the code queries.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

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

exchanges = Table(
    "exchanges",
    metadata,
    Column("url", String(2048), primary_key=True),  # the base URL of the settings
    Column("did", String(512)),  # from its discovery document; NULL until first reached
    Column("inbox", String(2048)),
    Column("push", Boolean, nullable=False),  # False: the endpoint pulls
    Column("cursor", Integer, nullable=False),  # the last delivery pulled
    Column("subscribed_at", Float),
    Column("last_error", Text),
    Column("updated_at", Float, nullable=False),
)

matched_intents = Table(
    "matched_intents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("exchange", String(512), nullable=False),  # the exchange's DID
    Column("mailbox", String(2048), nullable=False),  # where offers to it are posted
    Column("pseudonym", String(512), nullable=False),  # the person's DID for this intent alone
    Column("intent_id", String(128), nullable=False),  # the intent's message id
    Column("category", String(200), nullable=False),
    Column("token", Text, nullable=False),  # the person's signed intent, as it came
    Column("demand", Text, nullable=False),  # JSON: the schema.org Demand
    Column("terms", Text, nullable=False),  # JSON: the term ids an offer must accept
    Column("pool", Integer, nullable=False),  # intents pooled with it (1: alone)
    Column("pool_id", String(128)),
    # open | offered | accepted (one of its offers) | withdrawn | expired
    Column("state", String(16), nullable=False),
    Column("received_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    UniqueConstraint("pseudonym", "intent_id", name="matched_intents_once"),
)

offers = Table(
    "offers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("intent", Integer, ForeignKey("matched_intents.id"), nullable=False),
    Column("message_id", String(128), nullable=False, unique=True),
    Column("body", Text, nullable=False),  # JSON: the OfferBody as signed
    Column("state", String(16), nullable=False),  # sent | declined | accepted
    Column("sent_at", Float, nullable=False),
    Column("answered_at", Float),
    Column("reason", Text),  # the person's, when they declined
    Column("customer", String(512)),  # when accepted: the pairwise DID that took it
)

receipts = Table(
    "receipts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer", String(512), nullable=False, index=True),
    Column("message_id", String(128), nullable=False, unique=True),
    Column("order_number", String(100), nullable=False),
    # the accepted offer this receipt was sent for on its own (NULL: sent through the API);
    # unique, so that each accepted offer gets one receipt however often its acceptance comes
    Column("for_offer", String(128), unique=True),
    Column("created_at", Float, nullable=False),
    Column("receipt", Text, nullable=False),  # JSON: the Receipt body as signed
    Column("token", Text, nullable=False),  # the signed message (compact JWS), for exports
)

memberships = Table(
    "memberships",
    metadata,
    Column("id", String(45), primary_key=True),  # the credential's id (urn:uuid:…)
    Column("customer", String(512), nullable=False, index=True),
    Column("program", String(80), nullable=False),
    Column("state", String(16), nullable=False),  # active | revoked
    Column("credential", Text, nullable=False),  # the current credential (compact JWS)
    Column("digest", String(43), nullable=False),  # its SHA-256: older ones are superseded
    Column("message_id", String(128), nullable=False),  # the membership message sent last
    Column("issued_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("revoked_at", Float),
)

revoked_memberships = Table(
    "revoked_memberships",
    metadata,
    Column("id", String(45), primary_key=True),  # a credential id a checkout refuses
    Column("reason", String(16), nullable=False),  # revoked | erased
    Column("revoked_at", Float, nullable=False),
)

health_presentations = Table(
    "health_presentations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer", String(512), nullable=False, index=True),
    Column("presentation", String(128), nullable=False),  # the person's id of it
    Column("message_id", String(128), nullable=False),  # its health.presentation (or withdraw)
    Column("fhir_version", String(8), nullable=False),  # R5 | R4B
    Column("resources", Integer, nullable=False),  # how many it held
    # what was presented: the purpose and the FHIR Bundle (JSON); both NULL once deleted
    Column("purpose", Text),
    Column("bundle", Text),
    Column("valid_until", Float, nullable=False, index=True),
    Column("received_at", Float, nullable=False),
    Column("deleted_at", Float),  # NULL while held
    Column("deleted_because", String(16)),  # revoked | expired | ended | erased
    UniqueConstraint("customer", "presentation", name="health_presentations_once"),
)

payments_received = Table(
    "payments_received",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("payer", String(512), nullable=False),  # the payer's DID for this payee
    Column("payment", String(128), nullable=False),  # the payer's id of the payment
    Column("month", String(7), nullable=False, index=True),
    Column("amount", String(32), nullable=False),  # decimal text, as in the notice
    Column("currency", String(3), nullable=False),
    Column("notice", Text, nullable=False),  # JSON: the PaymentNotice body as signed
    Column("receipt_id", String(128), nullable=False),  # the payment.receipt sent back
    Column("receipt", Text, nullable=False),  # the signed receipt (compact JWS)
    Column("received_at", Float, nullable=False),
    UniqueConstraint("payer", "payment", name="payments_received_once"),
)

reviews = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reviewer", String(512), nullable=False),  # the DID that signed it
    Column("review_id", String(64), nullable=False),  # its @id (a UUID URN), every version
    Column("customer", String(512), index=True),  # the pairwise DID that sent it, if one did
    Column("feed_url", String(2048)),  # the feed it was fetched from, while it is in it
    Column("state", String(16), nullable=False),  # current | withdrawn
    Column("license", String(200), nullable=False),  # the licence's URL, kept when withdrawn
    Column("reserved", Boolean, nullable=False),  # text and data mining reserved (TDMRep)
    Column("version", String(20)),  # dateModified, else datePublished; NULL once withdrawn
    Column("review", Text),  # JSON: the Review as signed; NULL once withdrawn
    Column("token", Text),  # the signed review (compact JWS); NULL once withdrawn
    Column("received_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("withdrawn_at", Float),
    UniqueConstraint("reviewer", "review_id", name="reviews_once"),
)
