"""RFC 9457 problem details for protocol refusals, and their HTTP statuses.

One mapping for every vrm HTTP service: a refusal code becomes a problem ``type``
URI (``urn:vrm:problem:<code>``) and a status. docs/protocol.md lists the table.
"""

from __future__ import annotations

from typing import Any

from vrm.protocol.errors import RefusalCode

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:vrm:problem:"

# Codes that belong to the HTTP binding rather than to message verification.
UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
HANDLER_FAILED = "handler_failed"
IN_PROGRESS = "in_progress"
INVALID_REQUEST = "invalid_request"
NOT_FOUND = "not_found"
RATE_LIMITED = "rate_limited"

STATUS_BY_CODE: dict[str, int] = {
    RefusalCode.MALFORMED: 400,
    RefusalCode.UNSUPPORTED_ALGORITHM: 400,
    RefusalCode.UNDECRYPTABLE: 400,
    RefusalCode.UNRESOLVABLE_KEY: 401,
    RefusalCode.BAD_SIGNATURE: 401,
    RefusalCode.SENDER_MISMATCH: 401,
    RefusalCode.EXPIRED: 401,
    RefusalCode.CREATED_IN_FUTURE: 401,
    RefusalCode.LIFETIME_TOO_LONG: 400,
    RefusalCode.WRONG_RECIPIENT: 403,
    RefusalCode.NO_AGREEMENT: 403,
    RefusalCode.REPLAY: 409,
    RefusalCode.OVERSIZE: 413,
    UNSUPPORTED_MEDIA_TYPE: 415,
    RefusalCode.UNKNOWN_TYPE: 422,
    RefusalCode.INVALID_BODY: 422,
    INVALID_REQUEST: 422,
    NOT_FOUND: 404,
    HANDLER_FAILED: 500,
    IN_PROGRESS: 503,
    RATE_LIMITED: 429,
}

TITLES: dict[str, str] = {
    RefusalCode.MALFORMED: "Malformed message",
    RefusalCode.UNSUPPORTED_ALGORITHM: "Unsupported signature algorithm",
    RefusalCode.UNDECRYPTABLE: "Message does not decrypt",
    RefusalCode.UNRESOLVABLE_KEY: "Signing key cannot be resolved",
    RefusalCode.BAD_SIGNATURE: "Bad signature",
    RefusalCode.SENDER_MISMATCH: "Signing key is not the sender's",
    RefusalCode.EXPIRED: "Message expired",
    RefusalCode.CREATED_IN_FUTURE: "Message created in the future",
    RefusalCode.LIFETIME_TOO_LONG: "Message lifetime too long",
    RefusalCode.WRONG_RECIPIENT: "Message addressed to another party",
    RefusalCode.NO_AGREEMENT: "No agreement covers this data",
    RefusalCode.REPLAY: "Message already received",
    RefusalCode.OVERSIZE: "Message too large",
    UNSUPPORTED_MEDIA_TYPE: "Unsupported media type",
    RefusalCode.UNKNOWN_TYPE: "Unknown message type",
    RefusalCode.INVALID_BODY: "Message body does not match its type",
    INVALID_REQUEST: "Invalid request",
    NOT_FOUND: "Not found",
    HANDLER_FAILED: "Message could not be handled",
    IN_PROGRESS: "Message is being handled",
    RATE_LIMITED: "Too many requests",
}


def problem(
    code: str, detail: str, *, instance: str | None = None, status: int | None = None
) -> tuple[int, dict[str, Any]]:
    """Return the HTTP status and the problem+json document for a refusal ``code``.

    ``status`` overrides the code's usual status (e.g. 405 for ``invalid_request``);
    the document always carries the status the response is sent with.
    """
    document: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": TITLES.get(code, code.replace("_", " ").capitalize()),
        "status": status or STATUS_BY_CODE.get(code, 400),
        "detail": detail,
        "code": code,
    }
    if instance is not None:
        document["instance"] = instance
    return document["status"], document
