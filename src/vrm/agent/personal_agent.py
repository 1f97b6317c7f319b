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

from vrm.agent import disclosure, inbound
from vrm.agent.agreements import service as agreements
from vrm.agent.agreements.choice import (
    TermsChoice,
    TermsSettings,
    load_terms_settings,
    save_terms_settings,
    set_vendor_choice,
    terms_for,
    vendor_choice,
)
from vrm.agent.agreements.service import AgreementRecord
from vrm.agent.audit import service as audit
from vrm.agent.config import (
    DEFAULT_PORT,
    AgentConfig,
    load_config,
    load_listening_url,
    save_config,
    save_listening_url,
)
from vrm.agent.data_rights import service as data_rights
from vrm.agent.data_rights.comparison import ExportComparison, compare
from vrm.agent.data_rights.service import DataRequestRecord
from vrm.agent.errors import NotFound, VendorUnreachable
from vrm.agent.grants.service import (
    GrantRecord,
    add_grants,
    all_grants,
    grants_of,
    lapsed_grants,
    revoke_grants,
)
from vrm.agent.health import fhir as health_fhir
from vrm.agent.health import store as health
from vrm.agent.health.store import HealthResource
from vrm.agent.identities.service import load_identity
from vrm.agent.outbox import store as outbox
from vrm.agent.outbox.store import DeliveryStatus
from vrm.agent.payments import ledger as payments_ledger
from vrm.agent.payments import payees as payments_store
from vrm.agent.payments.allocation import Allocation, ShareRule
from vrm.agent.payments.ledger import PaymentRecord
from vrm.agent.payments.payees import Budget, Payee, Use
from vrm.agent.payments.providers import PaymentProvider
from vrm.agent.profile import service as profile
from vrm.agent.profile.service import FieldVersion
from vrm.agent.profile.vcard import ImportResult, from_vcard, to_vcard
from vrm.agent.records import export as records_export
from vrm.agent.records import journal as records_journal
from vrm.agent.records import receipts as records_receipts
from vrm.agent.records import reminders as records_reminders
from vrm.agent.records.journal import JournalEntry
from vrm.agent.records.receipts import ReceiptRecord
from vrm.agent.records.reminders import Reminder
from vrm.agent.relationships.service import (
    UNKNOWN,
    Relationship,
    add_relationship,
    find_relationship,
    get_relationship,
    identity_of,
    list_relationships,
    relationship_dids,
    set_person_state,
)
from vrm.protocol import PROFILE_UPDATE, DataExport, Identity, Message, PartyState
from vrm.protocol.kept import verify_kept
from vrm.terms import AlternativeRule
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

    def save_config(self, config: AgentConfig) -> AgentConfig:
        """Replace every setting at once (a validated :class:`AgentConfig`)."""
        with self.engine.begin() as connection:
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
        import anyio.to_thread

        from vrm.transport import AiohttpTransport, DeliveryError, fetch_discovery

        # The database work runs in a worker thread: a SQLite transaction may wait
        # seconds for the write lock, and the event loop serves the inbox meanwhile.
        own_transport = transport is None
        if transport is None:
            policy = await anyio.to_thread.run_sync(self.address_policy)
            transport = AiohttpTransport(policy=policy)
        try:
            found = await fetch_discovery(transport, url)
        except DeliveryError as exc:
            raise VendorUnreachable(str(exc)) from exc
        finally:
            if own_transport:
                await transport.aclose()

        def relate() -> Relationship:
            reply_to = self.reply_url()
            with self._transaction() as (connection, queued, now, max_age):
                relationship, offer = add_relationship(
                    connection,
                    self.sealer,
                    discovery=found,
                    url=url,
                    reply_to=reply_to,
                    terms=terms_for(connection, None),
                    max_age=max_age,
                    now=now,
                )
                agreements.make_proffer(
                    connection,
                    self.sealer,
                    relationship=relationship,
                    identity=identity_of(connection, self.sealer, relationship),
                    terms=offer.terms,
                    message_id=relationship.request_id,
                    now=now,
                    signed=offer,
                )
                queued.append(relationship.request_id)
            return relationship

        return await anyio.to_thread.run_sync(relate)

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
                changed, notice_id, _ = self._end(connection, relationship, max_age, now)
                queued.append(notice_id)
                return changed
            changed, notice_id = set_person_state(
                connection, self.sealer, relationship, state, max_age=max_age, now=now
            )
            queued.append(notice_id)
            if state == PartyState.WANTS:
                queued += disclosure.disclose_all_granted(
                    connection, self.sealer, changed, max_age=max_age, now=now
                )
            return changed

    def _end(
        self, connection: Connection, relationship: Relationship, max_age: float, now: float
    ) -> tuple[Relationship, str, DataRequestRecord | None]:
        """End the relationship: grants revoked, the vendor told.

        Under terms with ``delete_on_end`` the notice asks for erasure too: that
        request is returned, with its due date.
        """
        revoke_grants(
            connection,
            self.sealer,
            relationship=relationship,
            paths=None,
            reason="relationship ended",
            now=now,
        )
        changed, notice_id = set_person_state(
            connection, self.sealer, relationship, PartyState.ENDED, max_age=max_age, now=now
        )
        erasure = None
        if _deletes_on_end(connection, self.sealer, changed):
            erasure = data_rights.expect_answer(
                connection,
                self.sealer,
                relationship=changed,
                kind=data_rights.ERASE,
                message_id=notice_id,
                answer_within=load_config(connection).answer_deadline,
                now=now,
            )
        return changed, notice_id, erasure

    # terms and agreements

    def terms_settings(self) -> TermsSettings:
        """The person's default terms and what is done with vendors' alternatives."""
        with self.engine.begin() as connection:
            return load_terms_settings(connection)

    def set_default_terms(
        self,
        agreement: str | None = None,
        additional: list[str] | None = None,
        *,
        alternatives: AlternativeRule | None = None,
    ) -> TermsSettings:
        """Change the default terms, or the rule for vendors' alternatives.

        Open relationships without terms of their own are proffered the new default.

        Raises:
            Conflict: an id is not in the terms library.
        """
        with self._transaction() as (connection, queued, now, max_age):
            settings = load_terms_settings(connection)
            choice = settings.default
            if agreement is not None or additional is not None:
                choice = TermsChoice(
                    agreement or choice.agreement,
                    tuple(choice.additional if additional is None else additional),
                ).checked()
            changed = TermsSettings(choice, alternatives or settings.alternatives)
            save_terms_settings(connection, changed)
            if changed != settings:
                audit.append(
                    connection,
                    self.sealer,
                    kind="terms.default",
                    details={
                        "terms": choice.terms().name,
                        "alternatives": changed.alternatives.value,
                    },
                    now=now,
                )
            if choice != settings.default:
                for relationship in list_relationships(connection, self.sealer):
                    if vendor_choice(connection, relationship.id) is None:
                        queued += self._proffer_again(connection, relationship, max_age, now)
            return changed

    def vendor_terms(self, reference: str) -> tuple[Relationship, TermsChoice, bool]:
        """The terms chosen for a vendor, and whether that is the default."""
        with self.engine.begin() as connection:
            relationship = find_relationship(connection, self.sealer, reference)
            own = vendor_choice(connection, relationship.id)
            return relationship, own or load_terms_settings(connection).default, own is None

    def set_vendor_terms(
        self, reference: str, agreement: str | None, additional: list[str] | None = None
    ) -> AgreementRecord | None:
        """Choose the terms for one vendor (agreement None: back to the default).

        An open relationship is proffered them at once; returns that proffer, or None
        when these terms are already agreed.

        Raises:
            Conflict: an id is not in the library.
        """
        with self._transaction() as (connection, queued, now, max_age):
            relationship = find_relationship(connection, self.sealer, reference)
            choice = None
            if agreement is not None:
                choice = TermsChoice(agreement, tuple(additional or ())).checked()
            set_vendor_choice(connection, relationship.id, choice)
            ids = self._proffer_again(connection, relationship, max_age, now)
            queued += ids
            if not ids:
                return None
            return agreements.agreements(connection, self.sealer, vendor_id=relationship.id)[-1]

    def _proffer_again(
        self, connection: Connection, relationship: Relationship, max_age: float, now: float
    ) -> list[str]:
        if relationship.person_state == PartyState.ENDED or relationship.vendor_state in (
            UNKNOWN,
            PartyState.REFUSED,
            PartyState.ENDED,
        ):
            return []  # before the vendor answers, its answer to the request comes first
        made = agreements.proffer_again(
            connection,
            self.sealer,
            relationship=relationship,
            terms=terms_for(connection, relationship.id),
            max_age=max_age,
            now=now,
        )
        return [] if made is None else [made[1]]

    def agreements(self, reference: str | None = None) -> list[AgreementRecord]:
        """Proffers and agreements (of one vendor, or all), oldest first."""
        with self.engine.begin() as connection:
            vendor_id = (
                find_relationship(connection, self.sealer, reference).id if reference else None
            )
            return agreements.agreements(connection, self.sealer, vendor_id=vendor_id)

    def agreement(self, agreement_id: int) -> AgreementRecord:
        """One proffer or agreement."""
        with self.engine.begin() as connection:
            return agreements.get_agreement(connection, self.sealer, agreement_id)

    def answer_alternative(self, agreement_id: int, *, accept: bool) -> AgreementRecord:
        """Accept or reject a vendor's alternative terms; the vendor is told.

        Raises:
            NotFound: no such agreement.
            Conflict: it is not an alternative waiting for an answer.
        """
        with self._transaction() as (connection, queued, now, max_age):
            record = agreements.get_agreement(connection, self.sealer, agreement_id)
            relationship = get_relationship(connection, self.sealer, record.vendor_id)
            was_active = relationship.active
            outcome = agreements.answer_alternative(
                connection,
                self.sealer,
                relationship=relationship,
                record=record,
                accepted=accept,
                reason="accepted by the person" if accept else "rejected by the person",
                max_age=max_age,
                now=now,
            )
            queued += outcome.queued
            changed = get_relationship(connection, self.sealer, relationship.id)
            if changed.active and not was_active:
                queued += disclosure.disclose_all_granted(
                    connection, self.sealer, changed, max_age=max_age, now=now
                )
            return outcome.record

    # data rights

    def request_export(self, reference: str) -> DataRequestRecord:
        """Ask a vendor for a signed copy of everything it holds on the person."""
        return self._request_data(reference, data_rights.EXPORT)

    def request_erasure(self, reference: str) -> DataRequestRecord:
        """Ask a vendor to erase its record of the person and confirm it, signed.

        Erasure ends the relationship first (every grant revoked, the vendor told);
        when the agreement says ``delete_on_end``, the ending notice is the request.
        """
        with self._transaction() as (connection, queued, now, max_age):
            relationship = find_relationship(connection, self.sealer, reference)
            if relationship.person_state != PartyState.ENDED:
                relationship, notice_id, erasure = self._end(connection, relationship, max_age, now)
                queued.append(notice_id)
                if erasure is not None:
                    return erasure
            record = data_rights.request_data(
                connection,
                self.sealer,
                relationship=relationship,
                kind=data_rights.ERASE,
                answer_within=load_config(connection).answer_deadline,
                max_age=max_age,
                now=now,
            )
            queued.append(record.message_id)
            return record

    def _request_data(self, reference: str, kind: str) -> DataRequestRecord:
        with self._transaction() as (connection, queued, now, max_age):
            relationship = find_relationship(connection, self.sealer, reference)
            record = data_rights.request_data(
                connection,
                self.sealer,
                relationship=relationship,
                kind=kind,
                answer_within=load_config(connection).answer_deadline,
                max_age=max_age,
                now=now,
            )
            queued.append(record.message_id)
            return record

    def data_requests(self, reference: str | None = None) -> list[DataRequestRecord]:
        """Export and erasure requests (of one vendor, or all), oldest first."""
        with self.engine.begin() as connection:
            vendor_id = (
                find_relationship(connection, self.sealer, reference).id if reference else None
            )
            return data_rights.data_requests(connection, self.sealer, vendor_id=vendor_id)

    def overdue_requests(self) -> list[DataRequestRecord]:
        """Requests a vendor has not answered in time."""
        with self.engine.begin() as connection:
            return data_rights.overdue_requests(connection, self.sealer, self.clock())

    def vendor_export(self, reference: str) -> tuple[Relationship, DataExport, ExportComparison]:
        """The vendor's latest export, verified again, next to what the person sent it.

        Raises:
            NotFound: no export has arrived from this vendor.
        """
        with self.engine.begin() as connection:
            relationship = find_relationship(connection, self.sealer, reference)
            record = data_rights.latest_export(connection, self.sealer, relationship.id)
            if record is None or record.answer is None:
                raise NotFound(
                    f"no export from vendor {relationship.id} yet: ask with vrm vendors export"
                )
            message = verify_kept(record.answer, receiver=relationship.our_did)
            assert isinstance(message.body, DataExport)  # noqa: S101 - stored as an export
            sent = outbox.sent_bodies(
                connection, self.sealer, vendor_id=relationship.id, type=PROFILE_UPDATE
            )
            return relationship, message.body, compare(message.body, sent)

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
            self._hand_out(
                connection,
                document,
                write,
                kind="profile.export",
                details={"format": format, "fields": len(values), "to": to},
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

    # records

    def receipts(self, *, include_superseded: bool = False) -> list[ReceiptRecord]:
        """The receipts vendors sent, newest order first, each verified again.

        A receipt a correction replaced is left out unless ``include_superseded``.
        """
        with self.engine.begin() as connection:
            return records_receipts.receipts(
                connection, self.sealer, include_superseded=include_superseded
            )

    def receipt(self, receipt_id: int) -> ReceiptRecord:
        """One receipt, current or replaced by a correction.

        Raises:
            NotFound: there is no such receipt.
        """
        with self.engine.begin() as connection:
            return records_receipts.get_receipt(connection, self.sealer, receipt_id)

    def search_receipts(self, text: str) -> list[ReceiptRecord]:
        """The current receipts whose seller, order number, items, SKUs or note hold ``text``.

        Case is ignored; blank text finds every receipt. Receipts are sealed at rest,
        so each is opened and the search runs over them in memory (one person's
        purchases, not a shop's).
        """
        return records_receipts.search(self.receipts(), text)

    def reminders(self) -> list[Reminder]:
        """Warranties ending within 30 days and subscriptions renewing within 14, from today."""
        return records_reminders.due(self.receipts(), _today(self.clock()))

    def journal(self, intent_id: int) -> JournalEntry:
        """An intent's decision: what was wanted, the offers, the one taken, the note, receipt.

        Raises:
            NotFound: there is no such intent.
        """
        with self.engine.begin() as connection:
            return records_journal.journal(connection, self.sealer, intent_id)

    def set_journal_note(self, intent_id: int, text: str) -> JournalEntry:
        """Write why the person chose as they did (blank text clears the note).

        Raises:
            NotFound: there is no such intent.
            ValueError: the note is too long.
        """
        with self.engine.begin() as connection:
            return records_journal.set_note(
                connection, self.sealer, intent_id, text, now=self.clock()
            )

    def export_receipts(
        self, format: str, *, to: str = "api", write: Callable[[str], None] | None = None
    ) -> str:
        """The current receipts as CSV (a row per item) or JSON (as received, signed).

        The export is recorded in the audit log once ``write`` (if given) has put the
        document where it goes: a failed write is not logged as an export.

        Raises:
            ValueError: the format is neither ``csv`` nor ``json``.
        """
        with self.engine.begin() as connection:
            found = records_receipts.receipts(connection, self.sealer)
            document = records_export.export(found, format)
            self._hand_out(
                connection,
                document,
                write,
                kind="receipts.export",
                details={"format": format, "receipts": len(found), "to": to},
            )
        return document

    # health records

    def import_health_bundle(self, text: str | bytes, source: str) -> health.ImportResult:
        """Keep every resource of a FHIR Bundle (R5 or R4B), or none if any is wrong.

        A resource imported before (same type and id) is replaced. ``source`` says
        where the Bundle came from (a file name, a label); it is kept sealed.

        Raises:
            InvalidBundle: not JSON, not a Bundle, or not valid FHIR (the message
                names each problem and its entry); nothing is imported.
        """
        bundle = health_fhir.parse_bundle(text)
        with self.engine.begin() as connection:
            return health.import_bundle(
                connection, self.sealer, bundle, source=source, now=self.clock()
            )

    def health_resources(self, kind: str | None = None) -> list[HealthResource]:
        """The health records held, the patient first, or those of one kind.

        ``kind`` is a FHIR resource type (``Condition``) or its word (``allergy``).
        """
        with self.engine.begin() as connection:
            return health.resources(connection, self.sealer, kind=kind)

    def health_resource(self, resource_id: int) -> HealthResource:
        """One health record.

        Raises:
            NotFound: there is no such record.
        """
        with self.engine.begin() as connection:
            return health.get_resource(connection, self.sealer, resource_id)

    def export_health_bundle(
        self,
        ids: list[int] | None = None,
        *,
        to: str = "api",
        write: Callable[[str], None] | None = None,
    ) -> str:
        """The chosen health records (all when ``ids`` is None) as a FHIR Bundle ``collection``.

        The export is recorded in the audit log once ``write`` (if given) has put the
        Bundle where it goes: a failed write is not logged as a disclosure.

        Raises:
            NotFound: a number is not a health record, or there are none.
            Conflict: the records were imported in different FHIR versions.
        """
        with self.engine.begin() as connection:
            found = health.chosen(connection, self.sealer, ids)
            document = health.bundle_of(found)
            self._hand_out(
                connection,
                document,
                write,
                kind="health.exported",
                details={"count": len(found), "ids": [r.id for r in found], "to": to},
            )
        return document

    # payments (EmanciPay)

    def set_budget(self, amount: str, currency: str) -> Budget:
        """Make ``amount`` in ``currency`` (ISO 4217) the monthly budget.

        Raises:
            ValueError: an unknown currency, or an amount that is negative or has more
                decimals than the currency.
        """
        with self.engine.begin() as connection:
            return payments_store.set_budget(
                connection, self.sealer, amount, currency, now=self.clock()
            )

    def budget(self) -> Budget | None:
        """The monthly budget, or None before one is set."""
        with self.engine.begin() as connection:
            return payments_store.budget(connection, self.sealer)

    def add_payee(
        self,
        name: str,
        rule: ShareRule,
        *,
        endpoint: str | None = None,
        terms: list[str] | None = None,
    ) -> Payee:
        """Add a payee with its share rule, the endpoint it takes payments at, and terms.

        Raises:
            Conflict: a payee of that name is already there.
            ValueError: a name, URL, term or amount that does not fit.
        """
        with self.engine.begin() as connection:
            return payments_store.add_payee(
                connection,
                self.sealer,
                name=name,
                rule=rule,
                endpoint=endpoint,
                terms=list(terms or []),
                now=self.clock(),
            )

    def payees(self, *, removed: bool = False) -> list[Payee]:
        """The payees, by number (removed ones too, if asked)."""
        with self.engine.begin() as connection:
            return payments_store.payees(connection, self.sealer, removed=removed)

    def remove_payee(self, payee_id: int) -> Payee:
        """Leave a payee out of months not planned yet; its past payments stay.

        Raises:
            NotFound: no such payee, or removed already.
        """
        with self.engine.begin() as connection:
            return payments_store.remove_payee(connection, self.sealer, payee_id, now=self.clock())

    def log_use(
        self,
        payee_id: int,
        units: str,
        *,
        month: str | None = None,
        note: str | None = None,
    ) -> Use:
        """Log units (e.g. listening hours) of a per-use payee, this month unless told.

        Raises:
            NotFound: no such payee.
            Conflict: the payee is not paid per use, or the month is paid already.
            ValueError: units not more than zero, a bad month or a note too long.
        """
        now = self.clock()
        with self.engine.begin() as connection:
            return payments_store.log_use(
                connection,
                self.sealer,
                payee_id=payee_id,
                units=units,
                month=month or payments_store.month_of(now),
                note=note,
                now=now,
            )

    def uses(self, month: str | None = None) -> list[Use]:
        """The uses logged for ``month`` (this month unless told)."""
        with self.engine.begin() as connection:
            return payments_store.uses(connection, self.sealer, month or self.this_month())

    def allocation(self, month: str | None = None) -> Allocation:
        """What paying ``month`` now would give each payee; nothing is recorded.

        Raises:
            Conflict: no budget is set.
            ValueError: there are no payees, or an amount does not fit the currency.
        """
        with self.engine.begin() as connection:
            return payments_ledger.preview(connection, self.sealer, month or self.this_month())

    def pay(self, month: str | None, provider: PaymentProvider) -> list[PaymentRecord]:
        """Pay ``month`` (this month unless told): planned once, each payment made once.

        The first time, the month's allocation is recorded; then every payment not
        paid yet goes through ``provider`` under its own idempotency key. Asked again,
        only the payments still unpaid are tried, under the same keys.

        Raises:
            Conflict: the month is new and no budget is set.
            ValueError: the month is new and there are no payees.
        """
        return payments_ledger.pay_month(
            self.engine,
            self.sealer,
            month=payments_store.check_month(month or self.this_month()),
            provider=provider,
            clock=self.clock,
        )

    def payments(self, month: str | None = None) -> list[PaymentRecord]:
        """The ledger's payments (of one month, or all), newest month first."""
        with self.engine.begin() as connection:
            return payments_ledger.payments(connection, self.sealer, month)

    def this_month(self) -> str:
        """The current month, ``YYYY-MM``, by the agent's clock."""
        return payments_store.month_of(self.clock())

    # messages from vendors

    def receive(self, message: Message) -> None:
        """Take a verified message sent to one of the person's pairwise DIDs.

        Raises:
            ProtocolError: the sender is not the vendor that DID was made for, or the
                message does not fit (see :func:`vrm.agent.inbound.receive`).
        """
        with self._transaction() as (connection, queued, now, max_age):
            queued += inbound.receive(connection, self.sealer, message, max_age=max_age, now=now)

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

    def _hand_out(
        self,
        connection: Connection,
        document: str,
        write: Callable[[str], None] | None,
        *,
        kind: str,
        details: dict[str, Any],
    ) -> None:
        """Give ``document`` to ``write`` (if any), then record the export as ``kind``.

        In the caller's transaction: an export whose writing failed is not in the log.
        """
        if write is not None:
            write(document)
        audit.append(connection, self.sealer, kind=kind, details=details, now=self.clock())

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


def _deletes_on_end(connection: Connection, sealer: Sealer, relationship: Relationship) -> bool:
    """True when the agreement in force tells the vendor to delete the record at the end."""
    if relationship.vendor_state != PartyState.ACCEPTED:
        return False
    current = agreements.active_agreement(connection, sealer, relationship.id)
    return current is not None and bool(current.terms.obligations().delete_on_end)


def _today(now: float) -> dt.date:
    return dt.datetime.fromtimestamp(now).date()
