"""The person's health desk: present records to a doctor for a while, withdraw, end.

:meth:`HealthDesk.present` sends chosen records over an active relationship, from the
person's pairwise DID, as a ``health.presentation`` encrypted to the doctor's DID: a
FHIR Bundle of type ``collection`` holding just those resources, the purpose, and
the grant's end. :meth:`HealthDesk.withdraw` tells the doctor to delete them now;
:meth:`HealthDesk.sweep` (the agent's housekeeping) tells it when a grant has ended,
once, unless the doctor already confirmed deleting them by itself, and records the
presentations whose relationship ended (ending it told the doctor). Each action is
one transaction of the agent, with its audit entry; the API, the command line and
the pages all call this class.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from vrm.agent.config import load_config
from vrm.agent.errors import Conflict
from vrm.agent.health import presentations as store
from vrm.agent.health import store as records
from vrm.agent.health.presentations import Presentation
from vrm.agent.outbox.store import enqueue
from vrm.agent.relationships.service import (
    Relationship,
    find_relationship,
    get_relationship,
    identity_of,
)
from vrm.health.fhir import collection
from vrm.protocol import (
    HEALTH_PRESENTATION,
    HEALTH_WITHDRAW,
    CollectionBundle,
    HealthPresentation,
    HealthWithdraw,
)
from vrm.protocol.v1.health import rfc3339

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from vrm.agent.personal_agent import PersonalAgent

LONGEST_GRANT = 365 * 24 * 3600
"""A year: the protocol allows no grant longer (a doctor refuses one)."""
MAX_PURPOSE = 1024
MAX_PRESENTED_BYTES = 140_000
"""The most JSON one presentation's body holds: signed, then encrypted, it grows by about
16/9 and must stay within a receiver's 256 KiB."""
_DURATION = re.compile(r"^(\d{1,6})\s*(s|m|min|h|d|w)$")
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_UNIT_WORDS = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}


class HealthDesk:
    """Presentations of the person's health records to doctors, for one unlocked agent."""

    def __init__(self, agent: PersonalAgent) -> None:
        self.agent = agent

    def present(
        self,
        ids: Iterable[int],
        vendor: str,
        *,
        purpose: str,
        duration: str | None = None,
        until: str | None = None,
    ) -> Presentation:
        """Present the records ``ids`` to ``vendor`` for ``purpose``, for a while.

        The grant runs for ``duration`` (``7d``, ``12h``, ``30m``, ``2w``) or until
        ``until`` (a date: to the end of that day; or a date and time, local unless it
        says its offset), at least the agent's ``health_grant_minimum`` and at most a
        year.

        Raises:
            NotFound: no such vendor, or a number is not a health record.
            Conflict: the relationship is not active, or the records are in two FHIR
                versions, or too many to send in one message.
            ValueError: no record chosen, no purpose, or a grant's end that does not fit.
        """
        chosen = list(dict.fromkeys(ids))
        if not chosen:
            raise ValueError("choose at least one health record to present")
        purpose = purpose.strip()
        if not purpose or len(purpose) > MAX_PURPOSE:
            raise ValueError(f"say what the records are for, in at most {MAX_PURPOSE} characters")
        agent = self.agent
        with agent._transaction() as (connection, queued, now, max_age):
            ends = grant_end(duration=duration, until=until, now=now)
            _check_length(ends - now, minimum=load_config(connection).health_grant_minimum)
            relationship = find_relationship(connection, agent.sealer, vendor)
            if not relationship.active:
                raise Conflict(
                    f"records are presented only over an active relationship: with "
                    f"{relationship.vendor.name}, {relationship.held_because}"
                )
            found = records.chosen(connection, agent.sealer, chosen)
            versions = sorted({resource.fhir_version for resource in found})
            if len(versions) > 1:
                raise Conflict(
                    "these records were imported in different FHIR versions, which one "
                    "presentation cannot mix: present each version apart"
                )
            bundle = json.loads(collection([(r.full_url, r.resource) for r in found], versions[0]))
            body = HealthPresentation(
                presentation=str(uuid.uuid4()),
                purpose=purpose,
                valid_until=rfc3339(ends),
                fhir_version="R5" if versions[0] == "R5" else "R4B",  # the store holds no other
                bundle=CollectionBundle.model_validate(bundle),
            )
            if len(body.model_dump_json()) > MAX_PRESENTED_BYTES:
                raise Conflict(
                    "these records are too large to present in one message: present fewer at a time"
                )
            message_id = _send(connection, agent, relationship, body, max_age, now)
            number = store.record(
                connection,
                agent.sealer,
                relationship=relationship,
                presentation=body.presentation,
                message_id=message_id,
                resources=found,
                purpose=purpose,
                valid_until=float(int(ends)),
                now=now,
            )
            queued.append(message_id)
            return store.get(connection, agent.sealer, number, now=now)

    def withdraw(self, number: int) -> Presentation:
        """Withdraw an active presentation: the doctor is told to delete the records now.

        Raises:
            NotFound: there is no such presentation.
            Conflict: it is not active any more (withdrawn, expired or ended).
        """
        agent = self.agent
        with agent._transaction() as (connection, queued, now, max_age):
            presented = store.get(connection, agent.sealer, number, now=now)
            if presented.state != store.ACTIVE:
                raise Conflict(f"presentation {number} is {presented.state} already")
            queued.append(
                _withdraw(
                    connection,
                    agent,
                    presented,
                    reason="revoked",
                    state=store.WITHDRAWN,
                    max_age=max_age,
                    now=now,
                )
            )
            return store.get(connection, agent.sealer, number, now=now)

    def presentations(self) -> list[Presentation]:
        """Every presentation, newest first, each with its state now."""
        with self.agent.engine.begin() as connection:
            return store.presentations(connection, self.agent.sealer, now=self.agent.clock())

    def presentation(self, number: int) -> Presentation:
        """One presentation (NotFound when there is none)."""
        with self.agent.engine.begin() as connection:
            return store.get(connection, self.agent.sealer, number, now=self.agent.clock())

    def sweep(self) -> list[str]:
        """End what is due: a grant past its end, a relationship ended; the messages queued.

        A grant that ended gets one ``health.withdraw`` (``expired``), unless the
        doctor confirmed deleting the records already; ending the relationship told
        the doctor, so nothing is sent for that.
        """
        agent = self.agent
        with agent._transaction() as (connection, queued, now, max_age):
            for presented in store.due_to_end(connection, agent.sealer, now=now):
                if presented.state == store.ENDED or presented.deletion_confirmed:
                    store.close(connection, agent.sealer, presented, state=presented.state, now=now)
                    continue
                queued.append(
                    _withdraw(
                        connection,
                        agent,
                        presented,
                        reason="expired",
                        state=store.EXPIRED,
                        max_age=max_age,
                        now=now,
                    )
                )
            return list(queued)


def grant_end(*, duration: str | None, until: str | None, now: float) -> float:
    """When a grant given as a duration (``7d``) or an end (``2026-03-08``) ends.

    A date alone means the end of that day; a date and time without an offset is local.

    Raises:
        ValueError: neither or both are given, or the text is not a duration or a time.
    """
    duration = (duration or "").strip().lower() or None
    until = (until or "").strip() or None
    if (duration is None) == (until is None):
        raise ValueError("give how long the grant runs (such as 7d) or until when, not both")
    if duration is not None:
        matched = _DURATION.match(duration)
        if matched is None:
            raise ValueError(
                f"{duration!r} is not a duration: write a number and s, m, h, d or w (7d, 12h)"
            )
        return now + int(matched.group(1)) * _UNITS[matched.group(2)]
    assert until is not None  # noqa: S101 - one of the two, checked above
    try:
        if len(until) == 10:
            day = dt.date.fromisoformat(until)
            return dt.datetime.combine(day, dt.time(23, 59, 59)).timestamp()
        return dt.datetime.fromisoformat(until).timestamp()
    except ValueError:
        raise ValueError(
            f"{until!r} is not a date (2026-03-08) or a date and time (2026-03-08T17:00)"
        ) from None


def _check_length(seconds: float, *, minimum: float) -> None:
    if seconds <= 0:
        raise ValueError("that end has passed already: choose a later one")
    if seconds < minimum:
        raise ValueError(f"a grant runs at least {_in_words(minimum)}: choose a later end")
    if seconds > LONGEST_GRANT:
        raise ValueError("a grant runs at most a year: choose an earlier end")


def _in_words(seconds: float) -> str:
    for unit in sorted(_UNIT_WORDS, reverse=True):
        if seconds >= unit and seconds % unit == 0:
            count = int(seconds // unit)
            return f"{count} {_UNIT_WORDS[unit]}{'s' if count != 1 else ''}"
    return f"{seconds:g} seconds"


def _withdraw(
    connection: Connection,
    agent: PersonalAgent,
    presented: Presentation,
    *,
    reason: Literal["revoked", "expired"],
    state: str,
    max_age: float,
    now: float,
) -> str:
    """Tell the doctor to delete what ``presented`` gave it, and close it as ``state``.

    Returns:
        The id of the ``health.withdraw`` queued.
    """
    relationship = get_relationship(connection, agent.sealer, presented.vendor_id)
    body = HealthWithdraw(presentation=presented.presentation, reason=reason)
    message_id = _send(connection, agent, relationship, body, max_age, now)
    store.close(connection, agent.sealer, presented, state=state, now=now, withdrawal=message_id)
    return message_id


def _send(
    connection: Connection,
    agent: PersonalAgent,
    relationship: Relationship,
    body: HealthPresentation | HealthWithdraw,
    max_age: float,
    now: float,
) -> str:
    """Queue ``body`` from the pairwise DID to the doctor, encrypted to the doctor's DID."""
    kind = HEALTH_PRESENTATION if isinstance(body, HealthPresentation) else HEALTH_WITHDRAW
    return enqueue(
        connection,
        agent.sealer,
        sender=identity_of(connection, agent.sealer, relationship),
        to=relationship.vendor.did,
        inbox=relationship.vendor.inbox,
        type=kind,
        body=body,
        vendor_id=relationship.id,
        max_age=max_age,
        now=now,
        encrypted=True,
    )
