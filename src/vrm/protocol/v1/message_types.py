"""The message types every vrm v1 party understands.

These are the protocol's own: liveness (``ping``) and telling a peer that a
message it sent could not be handled (``problem-report``). Each service adds the
types of its features (profile updates, terms, intents…) to its own registry.
Specification: docs/protocol.md, section "Message types".
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from vrm.protocol.errors import RefusalCode
from vrm.protocol.registry import MessageTypes

PING = "vrm/1/ping"
PING_RESPONSE = "vrm/1/ping.response"
PROBLEM_REPORT = "vrm/1/problem-report"

ShortText = Annotated[str, Field(max_length=1024)]


class Body(BaseModel):
    """Base of v1 bodies: unknown members are refused and JSON types must be exact."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=2048)]
FieldPath = Annotated[
    str, Field(pattern=r"^[a-z][a-z_]*(\.[A-Za-z0-9][A-Za-z0-9_-]*)?$", max_length=128)
]
IsoDate = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]


class Ping(Body):
    """Asks the recipient to show it is there.

    ``response_requested`` asks for a ``ping.response``; ``reply_to`` is the inbox
    URL to send it to (the recipient may decline to call it, by its own policy).
    """

    comment: ShortText | None = None
    response_requested: bool = True
    reply_to: HttpUrl | None = None


class PingResponse(Body):
    """Answers a ping; the envelope's ``thid`` is the ping's id."""

    comment: ShortText | None = None


class ProblemReport(Body):
    """Tells a peer that the message in ``thid`` could not be handled, and why."""

    code: RefusalCode | Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
    detail: ShortText = ""


def v1_types() -> MessageTypes:
    """Return a new registry holding the v1 protocol types."""
    types = MessageTypes()
    types.add(PING, Ping)
    types.add(PING_RESPONSE, PingResponse)
    types.add(PROBLEM_REPORT, ProblemReport)
    return types
