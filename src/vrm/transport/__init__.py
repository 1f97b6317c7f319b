"""The HTTP binding of the protocol, shared by the agent, vendor endpoint and exchange.

One inbox (:class:`Inbox`, mounted by :func:`mount_party`), one sending path
(:class:`Sender` over a :class:`Transport`), one persistent seen-ids store
(:func:`open_seen_ids`), one problem+json mapping (:mod:`vrm.transport.problems`).

Names are loaded on first use: a command that only reads the agent's store does
not pay for the web framework and HTTP clients it never calls.
"""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
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

_MODULE_OF = {
    "AiohttpTransport": "client",
    "AsgiTransport": "client",
    "Delivery": "delivery",
    "DeliveryError": "delivery",
    "Handler": "inbox",
    "HttpReply": "client",
    "INBOX_PATH": "app",
    "Inbox": "inbox",
    "InboxEndpoint": "asgi",
    "JWE_MEDIA_TYPE": "inbox",
    "JWS_MEDIA_TYPE": "inbox",
    "PROBLEM_CONTENT_TYPE": "problems",
    "PROBLEM_TYPE_PREFIX": "problems",
    "PostgresSeenIds": "seen_ids",
    "Recipients": "inbox",
    "STATUS_BY_CODE": "problems",
    "Sender": "delivery",
    "SqliteSeenIds": "seen_ids",
    "Transport": "client",
    "TransportError": "client",
    "create_party_app": "app",
    "fetch_discovery": "delivery",
    "install_problem_handlers": "app",
    "mount_inbox": "app",
    "mount_party": "app",
    "open_seen_ids": "seen_ids",
    "problem": "problems",
    "problem_response": "app",
}


def __getattr__(name: str) -> _typing.Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'vrm.transport' has no attribute {name!r}")
    value = getattr(_importlib.import_module(f"vrm.transport.{module}"), name)
    globals()[name] = value
    return value


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
