"""Errors of the agent, each with a stable ``code`` and the HTTP status that answers it.

::

    AgentError               (.code)
    ├── AgentNotInitialised  no agent in this home yet (run ``vrm init``)
    ├── AgentExists          ``vrm init`` on a home that already holds an agent
    ├── NotFound             no such vendor, grant or delivery
    ├── Conflict             the action does not fit the current state
    └── VendorUnreachable    the vendor's discovery document could not be fetched
"""

from __future__ import annotations


class AgentError(Exception):
    """Root of the agent's errors."""

    code = "agent_error"
    status = 400


class AgentNotInitialised(AgentError):
    """There is no agent in this home yet."""

    code = "not_initialised"


class AgentExists(AgentError):
    """The home already holds an agent."""

    code = "already_initialised"


class NotFound(AgentError):
    """No vendor, grant or delivery matches what was asked for."""

    code = "not_found"
    status = 404


class Conflict(AgentError):
    """The action does not fit the current state (e.g. granting to an ended relationship)."""

    code = "conflict"
    status = 409


class VendorUnreachable(AgentError):
    """The vendor's discovery document could not be fetched or is not usable."""

    code = "vendor_unreachable"
    status = 502
