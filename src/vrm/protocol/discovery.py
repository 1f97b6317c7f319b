"""The discovery document a party publishes at ``/.well-known/vrm``."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from vrm.protocol.envelope import Did

PROTOCOL_VERSIONS = ("1",)
WELL_KNOWN_PATH = "/.well-known/vrm"


class Discovery(BaseModel):
    """Who a party is and how to reach it.

    Attributes:
        did: the DID messages to this party are addressed to.
        name: a display name for people.
        inbox: the absolute URL messages are POSTed to.
        message_types: the type names the inbox understands.
        protocol_versions: protocol major versions spoken.
        accepted_terms: ids of the agreements the party accepts (see docs/terms.md).
        encryption: JWE algorithms accepted at the inbox, as ``alg/enc``.
        accepted_additional_terms: ids of the additional terms the party accepts with them.
        alternative_terms: the agreement it offers instead of terms it does not accept
            (none: it rejects them).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    did: Did
    name: Annotated[str, Field(min_length=1, max_length=200)]
    inbox: Annotated[str, Field(pattern=r"^https?://", max_length=2048)]
    message_types: list[str]
    protocol_versions: list[str] = Field(default_factory=lambda: list(PROTOCOL_VERSIONS))
    accepted_terms: list[str] = Field(default_factory=list)
    encryption: list[str] = Field(default_factory=lambda: ["ECDH-ES+A256KW/A256GCM"])
    accepted_additional_terms: list[str] = Field(default_factory=list)
    alternative_terms: str | None = None
