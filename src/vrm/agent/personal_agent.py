"""The person's agent as one object: every action the CLI and the API offer.

Each action is one database transaction: the change, the messages it causes
(written to the outbox) and its audit entries commit together. Sending is the
delivery worker's job; :attr:`PersonalAgent.on_queued` tells it (or a command
that wants to send before it exits) which messages were just written.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine

from vrm.agent import disclosure
from vrm.agent.audit import service as audit
from vrm.agent.config import (
    DEFAULT_PORT,
    AgentConfig,
    load_config,
    load_listening_url,
    save_config,
    save_listening_url,
)
from vrm.agent.errors import VendorUnreachable
from vrm.agent.grants.service import (
    GrantRecord,
    add_grants,
    all_grants,
    grants_of,
    lapsed_grants,
    revoke_grants,
)
from vrm.agent.identities.service import load_identity
from vrm.agent.outbox import store as outbox
from vrm.agent.outbox.store import DeliveryStatus
from vrm.agent.profile import service as profile
from vrm.agent.profile.service import FieldVersion
from vrm.agent.profile.vcard import ImportResult, from_vcard, to_vcard
from vrm.agent.relationships.service import (
    Relationship,
    add_relationship,
    find_relationship,
    get_relationship,
    list_relationships,
    relationship_dids,
    relationship_for,
    set_person_state,
    set_vendor_state,
)
from vrm.protocol import (
    VENDOR_STATES,
    Identity,
    Message,
    PartyState,
    ProblemReport,
    ProtocolError,
    RefusalCode,
    RelationshipState,
)
from vrm.vault import Sealer

if TYPE_CHECKING:  # the HTTP client is loaded only by actions that go on the network
    from vrm.transport import Transport
    from vrm.transport.address_policy import AddressPolicy

QueuedListener = Callable[[list[str]], None]


class PersonalAgent:
    """An unlocked agent's actions.

    Args:
        engine: the agent's database.
        sealer: seals and opens personal values.
        on_queued: called with the ids of messages an action wrote to the outbox,
            after it committed.
        clock: the current epoch time (injectable for tests).
    """

    def __init__(
        self,
        engine: Engine,
        sealer: Sealer,
        *,
        on_queued: QueuedListener | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.sealer = sealer
        self.on_queued = on_queued
        self.clock = clock

    # configuration

    def config(self) -> AgentConfig:
        """The agent's settings."""
        with self.engine.begin() as connection:
            return load_config(connection)

    def set_config(self, name: str, value: str) -> AgentConfig:
        """Change one setting (ValueError when the value does not fit)."""
        with self.engine.begin() as connection:
            config = load_config(connection).with_value(name, value)
            save_config(connection, config)
            return config

    def address_policy(self) -> AddressPolicy:
        """Which addresses vendor URLs may reach, from the settings."""
        from vrm.transport.address_policy import AddressPolicy

        config = self.config()
        return AddressPolicy(
            allow_loopback=config.allow_loopback, allow_private=config.allow_private
        )

    def reply_url(self) -> str:
        """The inbox URL vendors answer to: the public URL, else where ``vrm up`` listens."""
        with self.engine.begin() as connection:
            base = (
                load_config(connection).public_url
                or load_listening_url(connection)
                or f"http://127.0.0.1:{DEFAULT_PORT}"
            )
        return base.rstrip("/") + "/inbox"

    def listening_at(self, url: str) -> None:
        """Record where the agent's server listens."""
        with self.engine.begin() as connection:
            save_listening_url(connection, url)

    # relationships

    async def add_vendor(self, url: str, *, transport: Transport | None = None) -> Relationship:
        """Discover the vendor at ``url``, pin its DID and queue a relationship request.

        Raises:
            VendorUnreachable: the discovery document could not be fetched or used.
            Conflict: there already is an open relationship with this vendor.
        """
        from vrm.transport import AiohttpTransport, DeliveryError, fetch_discovery

        own_transport = transport is None
        transport = transport or AiohttpTransport(policy=self.address_policy())
        try:
            found = await fetch_discovery(transport, url)
        except DeliveryError as exc:
            raise VendorUnreachable(str(exc)) from exc
        finally:
            if own_transport:
                await transport.aclose()
        reply_to = self.reply_url()
        with self._transaction() as (connection, queued, now, max_age):
            relationship = add_relationship(
                connection,
                self.sealer,
                discovery=found,
                url=url,
                reply_to=reply_to,
                max_age=max_age,
                now=now,
            )
            queued.append(relationship.request_id)
        return relationship

    def vendors(self) -> list[Relationship]:
        """Every relationship, oldest first."""
        with self.engine.begin() as connection:
            return list_relationships(connection, self.sealer)

    def vendor(self, reference: str) -> Relationship:
        """The relationship ``reference`` names (number, name, URL or host)."""
        with self.engine.begin() as connection:
            return find_relationship(connection, self.sealer, reference)

    def pause(self, reference: str) -> Relationship:
        """Pause: the vendor is told, and no changes are sent until the person resumes."""
        return self._press(reference, PartyState.PAUSED)

    def resume(self, reference: str) -> Relationship:
        """Resume a paused relationship; the current values of granted fields are sent."""
        return self._press(reference, PartyState.WANTS)

    def end(self, reference: str) -> Relationship:
        """End the relationship: every grant to the vendor is revoked, and it is told."""
        return self._press(reference, PartyState.ENDED)

    def _press(self, reference: str, state: PartyState) -> Relationship:
        with self._transaction() as (connection, queued, now, max_age):
            relationship = find_relationship(connection, self.sealer, reference)
            if state == PartyState.ENDED:
                revoke_grants(
                    connection,
                    self.sealer,
                    relationship=relationship,
                    paths=None,
                    reason="relationship ended",
                    now=now,
                )
            changed, notice_id = set_person_state(
                connection, self.sealer, relationship, state, max_age=max_age, now=now
            )
            queued.append(notice_id)
            if state == PartyState.WANTS:
                queued += disclosure.disclose_all_granted(
                    connection, self.sealer, changed, max_age=max_age, now=now
                )
            return changed

    # grants

    def grant(
        self, reference: str, paths: list[str], *, purpose: str, until: dt.date | None = None
    ) -> list[GrantRecord]:
        """Grant fields to a vendor and queue their current values (if it accepted)."""
        with self._transaction() as (connection, queued, now, max_age):
            relationship = find_relationship(connection, self.sealer, reference)
            granted = add_grants(
                connection,
                self.sealer,
                relationship=relationship,
                paths=paths,
                purpose=purpose,
                until=until,
                now=now,
            )
            queued += disclosure.disclose(
                connection,
                self.sealer,
                relationship=relationship,
                grants=granted,
                max_age=max_age,
                now=now,
            )
            return granted

    def revoke(self, reference: str, paths: list[str]) -> list[GrantRecord]:
        """Revoke fields from a vendor and queue a signed revocation."""
        with self._transaction() as (connection, queued, now, max_age):
            relationship = find_relationship(connection, self.sealer, reference)
            revoked = revoke_grants(
                connection, self.sealer, relationship=relationship, paths=paths, now=now
            )
            message_id = disclosure.send_revocation(
                connection,
                self.sealer,
                relationship=relationship,
                paths=[grant.path for grant in revoked],
                max_age=max_age,
                now=now,
            )
            queued += [message_id] if message_id else []
            return revoked

    def grants(self, reference: str | None = None) -> list[tuple[Relationship, GrantRecord]]:
        """Grants (of one vendor, or all), each with its relationship."""
        with self.engine.begin() as connection:
            if reference is not None:
                relationship = find_relationship(connection, self.sealer, reference)
                granted = grants_of(connection, self.sealer, relationship.id)
                return [(relationship, grant) for grant in granted]
            relationships = {r.id: r for r in list_relationships(connection, self.sealer)}
            return [(relationships[g.vendor_id], g) for g in all_grants(connection, self.sealer)]

    def expire_grants(self) -> list[GrantRecord]:
        """Mark grants past their end date revoked and tell their vendors."""
        with self._transaction() as (connection, queued, now, max_age):
            lapsed = lapsed_grants(connection, self.sealer, today=_today(now))
            by_vendor: dict[int, list[str]] = {}
            for grant in lapsed:
                by_vendor.setdefault(grant.vendor_id, []).append(grant.path)
            for vendor_id, paths in by_vendor.items():
                relationship = get_relationship(connection, self.sealer, vendor_id)
                revoke_grants(
                    connection,
                    self.sealer,
                    relationship=relationship,
                    paths=paths,
                    reason="grant expired",
                    now=now,
                )
                message_id = disclosure.send_revocation(
                    connection,
                    self.sealer,
                    relationship=relationship,
                    paths=paths,
                    reason="grant expired",
                    max_age=max_age,
                    now=now,
                )
                queued += [message_id] if message_id else []
            return lapsed

    # profile

    def set_field(self, path: str, value: Any, *, changed_by: str) -> FieldVersion:
        """Change a field; every vendor granted it gets the new value."""
        return self.set_fields({path: value}, changed_by=changed_by)[0]

    def set_fields(self, values: dict[str, Any], *, changed_by: str) -> list[FieldVersion]:
        """Change several fields at once (a vCard import): one message per vendor."""
        with self._transaction() as (connection, queued, now, max_age):
            written = [
                profile.set_field(
                    connection, self.sealer, path=path, value=value, changed_by=changed_by, now=now
                )
                for path, value in values.items()
            ]
            queued += disclosure.propagate_change(
                connection, self.sealer, paths=list(values), max_age=max_age, now=now
            )
            return written

    def profile(self) -> dict[str, Any]:
        """Every field that has a value."""
        with self.engine.begin() as connection:
            return profile.profile(connection, self.sealer)

    def export_profile(
        self, *, format: str, to: str, write: Callable[[str], None] | None = None
    ) -> tuple[str, int]:
        """The profile in clear as a vCard 4 or JSON, and how many fields it holds.

        The export is recorded in the audit log once ``write`` (if given) has put the
        document where it goes: a failed write is not logged as a disclosure.
        """
        with self.engine.begin() as connection:
            values = profile.profile(connection, self.sealer)
            document = (
                to_vcard(values)
                if format == "vcard"
                else json.dumps(values, indent=2, ensure_ascii=False) + "\n"
            )
            if write is not None:
                write(document)
            audit.append(
                connection,
                self.sealer,
                kind="profile.export",
                details={"format": format, "fields": len(values), "to": to},
                now=self.clock(),
            )
        return document, len(values)

    def import_vcard(self, card: str, *, changed_by: str = "vcard import") -> ImportResult:
        """Set fields from a vCard (3 or 4); granted vendors get the new values."""
        result = from_vcard(card)
        if result.fields:
            self.set_fields(result.fields, changed_by=changed_by)
        return result

    def field_history(self, path: str) -> list[FieldVersion]:
        """Every version of one field, oldest first."""
        with self.engine.begin() as connection:
            return profile.field_history(connection, self.sealer, path=path)

    def clear_field(self, path: str, *, changed_by: str) -> FieldVersion:
        """Clear a field; every vendor granted it is told it is gone."""
        with self._transaction() as (connection, queued, now, max_age):
            written = profile.clear_field(
                connection, self.sealer, path=path, changed_by=changed_by, now=now
            )
            queued += disclosure.propagate_change(
                connection, self.sealer, paths=[path], max_age=max_age, now=now
            )
            return written

    # messages from vendors

    def receive(self, message: Message) -> None:
        """Take a verified message sent to one of the person's pairwise DIDs.

        Raises:
            ProtocolError: the sender is not the vendor that DID was made for, or the
                message does not fit (a vendor announcing a person's state).
        """
        with self._transaction() as (connection, queued, now, max_age):
            relationship = relationship_for(connection, self.sealer, message.envelope.to)
            if relationship is None or relationship.vendor.did != message.sender:
                raise ProtocolError(
                    RefusalCode.WRONG_RECIPIENT,
                    "this address takes messages only from the vendor it was made for",
                )
            body = message.body
            if isinstance(body, RelationshipState):
                if body.state not in VENDOR_STATES:
                    raise ProtocolError(
                        RefusalCode.INVALID_BODY,
                        "a vendor's state is accepted, refused or ended",
                    )
                was_active = relationship.active
                changed = set_vendor_state(
                    connection,
                    self.sealer,
                    relationship,
                    body.state,
                    message_id=message.id,
                    reason=body.reason,
                    now=now,
                )
                if changed.active and not was_active:
                    queued += disclosure.disclose_all_granted(
                        connection, self.sealer, changed, max_age=max_age, now=now
                    )
            elif isinstance(body, ProblemReport):
                outbox.mark_reported(
                    connection,
                    self.sealer,
                    vendor_id=relationship.id,
                    message_id=message.envelope.thid,
                    code=str(body.code),
                    detail=body.detail,
                )
                audit.append(
                    connection,
                    self.sealer,
                    kind="vendor.problem",
                    details={
                        "vendor": relationship.id,
                        "code": str(body.code),
                        "detail": body.detail,
                        "about": message.envelope.thid,
                        "message": message.id,
                    },
                    now=now,
                )

    def is_ours(self, did: str) -> bool:
        """True when ``did`` is one of the person's relationship DIDs."""
        return did in self.relationship_dids()

    def relationship_dids(self) -> set[str]:
        """The person's DIDs of every relationship (public keys: nothing to unseal)."""
        with self.engine.begin() as connection:
            return relationship_dids(connection)

    def identity_for(self, did: str) -> Identity | None:
        """The person's identity with this DID (for decrypting), if it is one of theirs."""
        with self.engine.begin() as connection:
            return load_identity(connection, self.sealer, did=did)

    # deliveries

    def deliveries(
        self, *, state: str | None = None, vendor: str | None = None, limit: int = 200
    ) -> list[DeliveryStatus]:
        """Deliveries, newest first, optionally of one state or one vendor."""
        with self.engine.begin() as connection:
            vendor_id = find_relationship(connection, self.sealer, vendor).id if vendor else None
            return outbox.deliveries(
                connection, self.sealer, state=state, vendor_id=vendor_id, limit=limit
            )

    def retry(self, delivery_id: int) -> DeliveryStatus:
        """Put a failed delivery back in its queue, due now."""
        with self._transaction() as (connection, queued, now, max_age):
            status = outbox.retry(connection, self.sealer, delivery_id, max_age=max_age, now=now)
            queued.append(status.message_id)
            return status

    def delivery_counts(self) -> dict[int, dict[str, int]]:
        """Per vendor, how many messages are pending, delivered and failed."""
        with self.engine.begin() as connection:
            return outbox.counts_by_vendor(connection)

    # audit

    def audit_entries(self) -> list[audit.AuditEntry]:
        """The audit log, oldest first."""
        with self.engine.begin() as connection:
            return audit.entries(connection, self.sealer)

    def audit_verify(self) -> audit.AuditVerdict:
        """Check the audit chain."""
        with self.engine.begin() as connection:
            return audit.verify(connection, self.sealer)

    @contextmanager
    def _transaction(self) -> Iterator[tuple[Connection, list[str], float, float]]:
        """One action's transaction: the connection, the ids it queues, now, and max age.

        The queued ids go to :attr:`on_queued` once the transaction has committed.
        """
        queued: list[str] = []
        with self.engine.begin() as connection:
            max_age = load_config(connection).delivery_max_age
            yield connection, queued, self.clock(), max_age
        if queued and self.on_queued is not None:
            self.on_queued(queued)


def _today(now: float) -> dt.date:
    return dt.datetime.fromtimestamp(now).date()
