"""Errors of the agent, each with a stable ``code``.

::

    AgentError               (.code)
    ├── AgentNotInitialised  no agent in this home yet (run ``vrm init``)
    └── AgentExists          ``vrm init`` on a home that already holds an agent
"""

from __future__ import annotations


class AgentError(Exception):
    """Root of the agent's errors."""

    code = "agent_error"


class AgentNotInitialised(AgentError):
    """There is no agent in this home yet."""

    code = "not_initialised"


class AgentExists(AgentError):
    """The home already holds an agent."""

    code = "already_initialised"
