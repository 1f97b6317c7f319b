"""FHIR Bundles for the agent: :mod:`vrm.health.fhir`, refused with the agent's own error.

The parsing and validation are shared with the vendor endpoint; here a Bundle that
is wrong becomes an :class:`InvalidBundle`, an :class:`~vrm.agent.errors.AgentError`
the API answers as ``422 invalid_bundle`` and the command line as one line.
"""

from __future__ import annotations

from vrm.agent.errors import AgentError
from vrm.health import fhir
from vrm.health.fhir import ParsedBundle


class InvalidBundle(AgentError):
    """The document is not a FHIR Bundle the agent can keep; the message says why and where."""

    code = "invalid_bundle"
    status = 422


def parse_bundle(document: str | bytes) -> ParsedBundle:
    """Parse and validate a FHIR Bundle (JSON); see :func:`vrm.health.fhir.parse_bundle`.

    Raises:
        InvalidBundle: the document is not JSON, not a Bundle, holds no resources, or
            does not validate as FHIR R5 or R4B (the message names the problems).
    """
    try:
        return fhir.parse_bundle(document)
    except fhir.InvalidBundle as exc:
        raise InvalidBundle(str(exc)) from None
