"""Protocol version 1: its message types."""

from vrm.protocol.v1.message_types import (
    PING,
    PING_RESPONSE,
    PROBLEM_REPORT,
    Ping,
    PingResponse,
    ProblemReport,
    v1_types,
)

__all__ = [
    "PING",
    "PING_RESPONSE",
    "PROBLEM_REPORT",
    "Ping",
    "PingResponse",
    "ProblemReport",
    "v1_types",
]
