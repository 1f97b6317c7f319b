"""The message envelope: who, to whom, what type, when, and the body."""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

TYPE_PATTERN = r"^vrm/[1-9][0-9]*/[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$"
DEFAULT_LIFETIME_SECONDS = 3600

MessageId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
Did = Annotated[str, Field(min_length=9, max_length=512, pattern=r"^did:[a-z0-9]+:\S+$")]
EpochSeconds = Annotated[int, Field(ge=0, le=2**53)]


class Envelope(BaseModel):
    """The JSON object a vrm message's JWS payload carries.

    Unknown members are ignored, so later protocol versions can add optional ones.
    """

    # Strict: JSON types must be exact (no "123" for 123, no true for 1), and only the
    # wire name "from" is accepted.
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    id: MessageId
    type: Annotated[str, Field(pattern=TYPE_PATTERN, max_length=128)]
    from_: Did = Field(alias="from")
    to: Did
    thid: MessageId | None = None
    created_time: EpochSeconds
    expires_time: EpochSeconds
    body: dict[str, Any]

    @model_validator(mode="after")
    def _expiry_after_creation(self) -> Envelope:
        if self.expires_time <= self.created_time:
            raise ValueError("expires_time must be after created_time")
        return self

    def to_json(self) -> bytes:
        """Serialise with the wire names (``from``, not ``from_``)."""
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()


def new_envelope(
    *,
    type: str,
    sender: str,
    to: str,
    body: BaseModel | dict[str, Any],
    thid: str | None = None,
    lifetime: int = DEFAULT_LIFETIME_SECONDS,
    now: float | None = None,
    message_id: str | None = None,
) -> Envelope:
    """Build an envelope with a fresh id, created now and expiring after ``lifetime``."""
    created = int(time.time() if now is None else now)
    payload = (
        body.model_dump(mode="json", exclude_none=True) if isinstance(body, BaseModel) else body
    )
    return Envelope.model_validate(
        {
            "id": message_id or str(uuid.uuid4()),
            "type": type,
            "from": sender,
            "to": to,
            "thid": thid,
            "created_time": created,
            "expires_time": created + lifetime,
            "body": payload,
        }
    )
