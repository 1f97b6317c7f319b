"""The vrm signed message protocol, version 1 — pure: no network, no database.

Everything a peer needs to sign, encrypt, verify and decrypt messages::

    identity = Identity.generate()
    envelope, jws = compose(identity, type=PING, to=peer_did, body=Ping())
    message = Verifier(receiver=peer_did, types=v1_types(), seen_ids=store).verify(jws)

The specification is docs/protocol.md.
"""

from vrm.protocol.did import (
    did_from_ed25519,
    did_from_kid,
    ed25519_from_did,
    key_agreement_kid,
    kid_for,
    x25519_from_did,
    x25519_multibase,
)
from vrm.protocol.discovery import PROTOCOL_VERSIONS, WELL_KNOWN_PATH, Discovery
from vrm.protocol.envelope import Envelope, new_envelope
from vrm.protocol.errors import ProtocolError, RefusalCode
from vrm.protocol.jwe import decrypt, encrypt_for, recipient_of
from vrm.protocol.jws import ACCEPTED_ALGS, ALG, LEGACY_ALG, sign_compact
from vrm.protocol.keys import Identity
from vrm.protocol.message import Message, compose, sign_message
from vrm.protocol.registry import MessageTypes
from vrm.protocol.replay import MemorySeenIds, SeenIds, replay_key
from vrm.protocol.v1 import (
    PING,
    PING_RESPONSE,
    PROBLEM_REPORT,
    Ping,
    PingResponse,
    ProblemReport,
    v1_types,
)
from vrm.protocol.v1.agreements import (
    AGREEMENT_ANSWER,
    AGREEMENT_PROFFER,
    AgreementAnswer,
    AgreementProffer,
)
from vrm.protocol.v1.data_rights import (
    DATA_ERASED,
    DATA_EXPORT,
    DATA_REQUEST,
    DataErased,
    DataExport,
    DataRequest,
    ErasedSystem,
    ExportedChange,
    ExportedDelivery,
    ExportedField,
    ExportedOffer,
    ExportedRelationship,
)
from vrm.protocol.v1.records import (
    RECEIPT,
    OrderItem,
    Payment,
    Receipt,
    ReceiptSeller,
    Subscription,
    Tax,
    record_types,
)
from vrm.protocol.v1.relationships import (
    PERSON_STATES,
    PROFILE_REVOKE,
    PROFILE_UPDATE,
    RELATIONSHIP_REQUEST,
    RELATIONSHIP_STATE,
    VENDOR_STATES,
    FieldValue,
    Grant,
    PartyState,
    ProfileRevoke,
    ProfileUpdate,
    RelationshipRequest,
    RelationshipState,
    relationship_types,
)
from vrm.protocol.verify import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_CLOCK_SKEW,
    DEFAULT_MAX_LIFETIME,
    Verifier,
)

__all__ = [
    "ACCEPTED_ALGS",
    "AGREEMENT_ANSWER",
    "AGREEMENT_PROFFER",
    "ALG",
    "DATA_ERASED",
    "DATA_EXPORT",
    "DATA_REQUEST",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_CLOCK_SKEW",
    "DEFAULT_MAX_LIFETIME",
    "LEGACY_ALG",
    "PERSON_STATES",
    "PING",
    "PING_RESPONSE",
    "PROBLEM_REPORT",
    "PROFILE_REVOKE",
    "PROFILE_UPDATE",
    "PROTOCOL_VERSIONS",
    "RECEIPT",
    "RELATIONSHIP_REQUEST",
    "RELATIONSHIP_STATE",
    "VENDOR_STATES",
    "WELL_KNOWN_PATH",
    "AgreementAnswer",
    "AgreementProffer",
    "DataErased",
    "DataExport",
    "DataRequest",
    "Discovery",
    "Envelope",
    "ErasedSystem",
    "ExportedChange",
    "ExportedDelivery",
    "ExportedField",
    "ExportedOffer",
    "ExportedRelationship",
    "FieldValue",
    "Grant",
    "Identity",
    "MemorySeenIds",
    "Message",
    "MessageTypes",
    "OrderItem",
    "PartyState",
    "Payment",
    "Ping",
    "PingResponse",
    "ProblemReport",
    "ProfileRevoke",
    "ProfileUpdate",
    "ProtocolError",
    "Receipt",
    "ReceiptSeller",
    "RefusalCode",
    "RelationshipRequest",
    "RelationshipState",
    "SeenIds",
    "Subscription",
    "Tax",
    "Verifier",
    "compose",
    "decrypt",
    "did_from_ed25519",
    "did_from_kid",
    "ed25519_from_did",
    "encrypt_for",
    "key_agreement_kid",
    "kid_for",
    "new_envelope",
    "recipient_of",
    "record_types",
    "relationship_types",
    "replay_key",
    "sign_compact",
    "sign_message",
    "v1_types",
    "x25519_from_did",
    "x25519_multibase",
]
