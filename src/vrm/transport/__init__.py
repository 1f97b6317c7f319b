"""The HTTP binding of the protocol, shared by the agent, vendor endpoint and exchange.

One inbox (:class:`Inbox`, mounted by :func:`mount_party`), one sending path
(:class:`Sender` over a :class:`Transport`), one persistent seen-ids store
(:func:`open_seen_ids`), one problem+json mapping (:mod:`vrm.transport.problems`).
"""

from vrm.transport.app import (
    INBOX_PATH,
    create_party_app,
    install_problem_handlers,
    mount_inbox,
    mount_party,
    problem_response,
)
from vrm.transport.asgi import InboxEndpoint
from vrm.transport.client import (
    AiohttpTransport,
    AsgiTransport,
    HttpReply,
    Transport,
    TransportError,
)
from vrm.transport.delivery import Delivery, DeliveryError, Sender, fetch_discovery
from vrm.transport.inbox import JWE_MEDIA_TYPE, JWS_MEDIA_TYPE, Handler, Inbox, Recipients
from vrm.transport.problems import (
    PROBLEM_CONTENT_TYPE,
    PROBLEM_TYPE_PREFIX,
    STATUS_BY_CODE,
    problem,
)
from vrm.transport.seen_ids import PostgresSeenIds, SqliteSeenIds, open_seen_ids

__all__ = [
    "INBOX_PATH",
    "JWE_MEDIA_TYPE",
    "JWS_MEDIA_TYPE",
    "PROBLEM_CONTENT_TYPE",
    "PROBLEM_TYPE_PREFIX",
    "STATUS_BY_CODE",
    "AiohttpTransport",
    "AsgiTransport",
    "Delivery",
    "DeliveryError",
    "Handler",
    "HttpReply",
    "Inbox",
    "InboxEndpoint",
    "PostgresSeenIds",
    "Recipients",
    "Sender",
    "SqliteSeenIds",
    "Transport",
    "TransportError",
    "create_party_app",
    "fetch_discovery",
    "install_problem_handlers",
    "mount_inbox",
    "mount_party",
    "open_seen_ids",
    "problem",
    "problem_response",
]
