"""The vendor's record of each customer, changed only by verified messages and the vendor.

Each function is one transaction: the record changes, the answers to the person
and the events for every CRM adapter are written together. Updates are applied
by field version: the same message twice, or an older update arriving after a
newer one, changes nothing. Agreements (:mod:`vrm.vendor.agreements`) and the
person's data rights (:mod:`vrm.vendor.data_rights`) are applied in the same
transaction as the message that carries them; accepting a relationship sends, in
that transaction, the receipts of the offers its person accepted
(:mod:`vrm.vendor.receipts`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from vrm.protocol import (
    PERSON_STATES,
    RELATIONSHIP_STATE,
    AgreementAnswer,
    AgreementProffer,
    DataRequest,
    Identity,
    Message,
    PartyState,
    ProfileRevoke,
    ProfileUpdate,
    ProtocolError,
    Receipt,
    RefusalCode,
    RelationshipRequest,
    RelationshipState,
)
from vrm.terms import Answer, Proffer, VendorTermsPolicy, library
from vrm.vendor import agreements, data_rights, health
from vrm.vendor import fields as customer_fields
from vrm.vendor import receipts as customer_receipts
from vrm.vendor.adapters.base import ChangeKind, CustomerChange
from vrm.vendor.data_rights import ERASED
from vrm.vendor.errors import Erased, NotPending, UnknownCustomer
from vrm.vendor.jobs import DEFAULT_MAX_AGE, adapter_queue, add_jobs, event_id
from vrm.vendor.outgoing import Outgoing
from vrm.vendor.policy import PENDING, Policy, PolicyMode
from vrm.vendor.receipts import ReceiptPolicy
from vrm.vendor.schema import customers, fields

__all__ = [  # UnknownCustomer and NotPending were defined here first
    "NotPending",
    "Policy",
    "PolicyMode",
    "Records",
    "UnknownCustomer",
    "event_id",
]

# Built once, like the statements of vrm.vendor.fields (docs/performance.md, vendor fan-out).
# Every change to a customer starts by reading its row: on PostgreSQL the row is locked
# (FOR UPDATE) so that changes to one customer — an update racing an erasure, two answers
# racing — happen one after the other; SQLite's transactions are serial already.
_CUSTOMER = (
    select(customers, agreements.in_force(customers.c.did).label("agreed"))
    .where(customers.c.did == bindparam("did"))
    .with_for_update(of=customers)
)


_RECORDED = (
    RelationshipRequest,
    RelationshipState,
    ProfileUpdate,
    ProfileRevoke,
    AgreementProffer,
    AgreementAnswer,
    DataRequest,
)


class Records:
    """The customer records of one vendor endpoint.

    Args:
        engine: the endpoint's database.
        identity: the vendor's identity (it signs the answers).
        policy: how relationship requests are answered.
        adapters: the names of the CRM adapters every change is queued for.
        max_age: how long answers and CRM deliveries are retried.
        terms_policy: how proffered terms are answered (default: every agreement
            and additional term of the library accepted).
        receipt_policy: the seller receipts name, and whether an accepted offer gets
            one (default: none, and receipts must name their seller).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        identity: Identity,
        policy: Policy,
        adapters: list[str],
        max_age: float = DEFAULT_MAX_AGE,
        clock: Callable[[], float] = time.time,
        terms_policy: VendorTermsPolicy | None = None,
        receipt_policy: ReceiptPolicy | None = None,
    ) -> None:
        self.engine = engine
        self.identity = identity
        self.policy = policy
        self.adapters = adapters
        self.max_age = max_age
        self.clock = clock
        self.terms_policy = terms_policy or VendorTermsPolicy.accepting_everything_in(library())
        self.receipt_policy = receipt_policy

    @property
    def outgoing(self) -> Outgoing:
        """Signs and queues the vendor's messages to people."""
        return Outgoing(self.identity, self.max_age, self.clock)

    # messages from people

    def receive(self, message: Message) -> bool:
        """Apply one verified message to the records; True if it queued jobs.

        Jobs are the answers to the person and the events for the CRM adapters;
        the endpoint wakes its worker only when there are some.
        """
        body = message.body
        if not isinstance(body, _RECORDED):
            return False  # a ping or a problem report: nothing to record
        with self.engine.begin() as connection:
            if isinstance(body, RelationshipRequest):
                return self._request(connection, message, body)
            customer = self._customer_row(connection, message.sender)
            if isinstance(body, DataRequest):
                data_rights.take_data_request(
                    connection,
                    customer,
                    message,
                    body,
                    outgoing=self.outgoing,
                    adapters=self.adapters,
                )
                return True
            _check_related(customer)
            if isinstance(body, RelationshipState):
                return self._person_state(connection, customer, message, body)
            if isinstance(body, ProfileUpdate):
                agreements.require_agreement(customer)
                return self._update(connection, message, body)
            if isinstance(body, ProfileRevoke):
                return self._revoke(connection, message, body)
            if isinstance(body, AgreementProffer):
                return self._proffered(connection, customer, message, body.proffer)
            agreements.take_person_answer(connection, message.sender, body, now=self.clock())
            return False

    def _request(self, connection: Connection, message: Message, body: RelationshipRequest) -> bool:
        if body.proffer is not None:
            agreements.check_proffer(body.proffer, sender=message.sender, vendor=self.identity.did)
        existing = self._customer_row(connection, message.sender)
        if existing is None:
            return self._first_request(connection, message, body)
        return self._asked_again(connection, existing, message, body)

    def _first_request(
        self, connection: Connection, message: Message, body: RelationshipRequest
    ) -> bool:
        now, sender = self.clock(), message.sender
        decision = self.policy.decide(sender)
        connection.execute(
            insert(customers).values(
                did=sender,
                state=decision,
                person_state=PartyState.WANTS.value,
                reply_to=body.reply_to,
                request_id=message.id,
                created_at=now,
                updated_at=now,
            )
        )
        self._take_proffer(connection, message, body.proffer)
        if decision != PartyState.ACCEPTED:
            return False
        self._accepted(connection, sender, body.reply_to, message.id)
        return True

    def _asked_again(
        self, connection: Connection, existing: Any, message: Message, body: RelationshipRequest
    ) -> bool:
        """The same person asks again (the answer was lost?): the decisions made, again."""
        if existing.state == ERASED:
            raise ProtocolError(RefusalCode.WRONG_RECIPIENT, "this record was erased")
        connection.execute(
            update(customers)
            .where(customers.c.did == message.sender)
            .values(reply_to=body.reply_to, updated_at=self.clock())
        )
        if existing.state not in (PENDING, PartyState.ACCEPTED):
            self._answer(connection, message.sender, body.reply_to, existing.state, message.id)
            return True
        proffered = self._take_proffer(connection, message, body.proffer)
        if existing.state == PENDING:
            return False
        self._answer(connection, message.sender, body.reply_to, existing.state, message.id)
        if proffered is not None:
            agreements.answer_proffer(
                connection,
                proffered,
                outgoing=self.outgoing,
                policy=self.terms_policy,
                inbox=body.reply_to,
                thid=message.id,
            )
        return True

    def _take_proffer(self, connection: Connection, message: Message, offer: Proffer | None) -> Any:
        if offer is None:
            return None
        return agreements.take_proffer(
            connection,
            customer=message.sender,
            offer=offer,
            message_id=message.id,
            now=self.clock(),
        )

    def _proffered(
        self, connection: Connection, customer: Any, message: Message, offer: Proffer
    ) -> bool:
        """New terms within the relationship: answered as a request's; accepted, they replace."""
        agreements.check_proffer(offer, sender=message.sender, vendor=self.identity.did)
        row = self._take_proffer(connection, message, offer)
        return agreements.answer_proffer(
            connection,
            row,
            outgoing=self.outgoing,
            policy=self.terms_policy,
            inbox=customer.reply_to,
            thid=message.id,
        )

    def _accepted(self, connection: Connection, did: str, reply_to: str, request_id: str) -> None:
        self._answer(connection, did, reply_to, PartyState.ACCEPTED.value, request_id)
        agreements.answer_latest_proffer(
            connection, did, inbox=reply_to, outgoing=self.outgoing, policy=self.terms_policy
        )
        self._changed(
            connection,
            CustomerChange(
                event_id(did, request_id, "created"), ChangeKind.CREATED, did, self.clock()
            ),
        )
        if self.receipt_policy is not None and self.receipt_policy.on_offer_accept:
            customer_receipts.send_for_accepted_offers(
                connection, did, seller=self.receipt_policy.seller, outgoing=self.outgoing
            )

    def _person_state(
        self, connection: Connection, customer: Any, message: Message, body: RelationshipState
    ) -> bool:
        if body.state not in PERSON_STATES:
            raise ProtocolError(
                RefusalCode.INVALID_BODY, "a person's state is wants, paused or ended"
            )
        now = self.clock()
        connection.execute(
            update(customers)
            .where(customers.c.did == message.sender)
            .values(person_state=body.state.value, updated_at=now)
        )
        if body.state == PartyState.ENDED and agreements.deletes_on_end(connection, message.sender):
            data_rights.erase(
                connection,
                customer,
                request_id=message.id,
                adapters=self.adapters,
                outgoing=self.outgoing,
            )
            return True
        if body.state == PartyState.ENDED:
            # Ending withdraws every grant: the values go, the history stays; health
            # records presented are deleted, and each deletion confirmed.
            confirmed = health.delete_all(
                connection, customer, reason="ended", outgoing=self.outgoing
            )
            removed = customer_fields.remove(connection, message, None, now=now)
            return confirmed | self._changed(
                connection,
                CustomerChange(
                    event_id(message.sender, message.id),
                    ChangeKind.ENDED,
                    message.sender,
                    now,
                    dict.fromkeys(removed),
                ),
            )
        return False

    def _update(self, connection: Connection, message: Message, body: ProfileUpdate) -> bool:
        change = customer_fields.apply_update(connection, message, body, now=self.clock())
        return change is not None and self._changed(connection, change)

    def _revoke(self, connection: Connection, message: Message, body: ProfileRevoke) -> bool:
        paths = list(dict.fromkeys(body.fields))
        revoked = customer_fields.remove(connection, message, paths, now=self.clock())
        if revoked:
            change = CustomerChange(
                event_id(message.sender, message.id),
                ChangeKind.REVOKED,
                message.sender,
                self.clock(),
                dict.fromkeys(revoked),
            )
            return self._changed(connection, change)
        return False

    # the vendor's decisions

    def approve(self, did: str) -> None:
        """Accept a pending relationship; the person is told and the CRMs get the customer."""
        self._decide(did, PartyState.ACCEPTED)

    def refuse(self, did: str) -> None:
        """Refuse a pending relationship; the person is told."""
        self._decide(did, PartyState.REFUSED)

    def end(self, did: str) -> None:
        """End an accepted relationship from the vendor's side; the person is told."""
        with self.engine.begin() as connection:
            customer = self._known(connection, did)
            if customer.state != PartyState.ACCEPTED:
                raise NotPending(f"the relationship with {did} is {customer.state}, not accepted")
            connection.execute(
                update(customers)
                .where(customers.c.did == did)
                .values(state=PartyState.ENDED.value, updated_at=self.clock())
            )
            self._answer(
                connection, did, customer.reply_to, PartyState.ENDED.value, customer.request_id
            )
            health.delete_all(connection, customer, reason="ended", outgoing=self.outgoing)

    def accept_newly_allowed(self) -> list[str]:
        """Accept pending requests the policy now allows (an allow list edited since)."""
        with self.engine.begin() as connection:
            waiting = connection.execute(
                select(customers.c.did).where(customers.c.state == PENDING)
            ).scalars()
            allowed = [did for did in waiting if self.policy.decide(did) != PENDING]
        for did in allowed:
            self.approve(did)
        return allowed

    def _decide(self, did: str, decision: PartyState) -> None:
        with self.engine.begin() as connection:
            customer = self._known(connection, did)
            if customer.state != PENDING:
                raise NotPending(f"the relationship with {did} is already {customer.state}")
            connection.execute(
                update(customers)
                .where(customers.c.did == did)
                .values(state=decision.value, updated_at=self.clock())
            )
            if decision == PartyState.ACCEPTED:
                self._accepted(connection, did, customer.reply_to, customer.request_id)
            else:
                agreements.close_open_proffers(connection, did, now=self.clock())
                self._answer(
                    connection, did, customer.reply_to, decision.value, customer.request_id
                )

    # agreements and data rights, for the vendor

    def agreements(self, did: str) -> list[dict[str, Any]]:
        """Every proffer and agreement of a customer, oldest first."""
        with self.engine.begin() as connection:
            self._known(connection, did)
            return agreements.agreements_of(connection, did)

    def pending_agreements(self) -> list[dict[str, Any]]:
        """Proffers waiting for the vendor's decision (the terms policy is ``manual``)."""
        with self.engine.begin() as connection:
            return agreements.pending_proffers(connection)

    def decide_agreement(
        self, did: str, terms_sha256: str, decision: Answer, *, alternative: str | None = None
    ) -> dict[str, Any]:
        """Answer a pending proffer: accept, reject, or offer the agreement ``alternative``.

        Raises:
            UnknownCustomer, UnknownProffer: no such customer, or no such proffer.
            NotPending: the proffer was answered, or the relationship is not accepted.
            InvalidRequest: ``alternative`` is not an agreement of the library.
        """
        with self.engine.begin() as connection:
            return agreements.decide_pending(
                connection,
                self._known(connection, did),
                terms_sha256,
                decision,
                alternative=alternative,
                outgoing=self.outgoing,
                policy=self.terms_policy,
            )

    def set_vendor_data(self, did: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Set the vendor's own data about a customer (a None value removes the key)."""
        with self.engine.begin() as connection:
            self._unerased(connection, did)
            return data_rights.set_vendor_data(connection, did, changes, now=self.clock())

    def export(self, did: str) -> dict[str, Any]:
        """Everything held on a customer, as the person's ``data.export`` carries it."""
        with self.engine.begin() as connection:
            customer = self._unerased(connection, did)
            body = data_rights.export(
                connection, customer, request_id=data_rights.new_request_id(), now=self.clock()
            )
        return body.model_dump(mode="json", exclude_none=True)  # as the message carries it

    def erase(self, did: str) -> None:
        """Erase a customer's record; the CRMs delete it, then the person is told."""
        with self.engine.begin() as connection:
            customer = self._unerased(connection, did)
            data_rights.erase(
                connection,
                customer,
                request_id=customer.request_id,
                adapters=self.adapters,
                outgoing=self.outgoing,
            )

    # receipts

    def send_receipt(self, did: str, receipt: Receipt) -> dict[str, Any]:
        """Send the customer a signed receipt (encrypted to them) and keep a copy.

        A receipt without a seller names the endpoint's. Answers the copy as
        :meth:`receipts` lists it.

        Raises:
            UnknownCustomer: no customer has this DID.
            Erased: only the tombstone is left.
            NotAccepted: the relationship is not accepted, or the person ended it.
            InvalidRequest: no seller is known, or ``offer`` is not one the customer accepted.
        """
        seller = None if self.receipt_policy is None else self.receipt_policy.seller
        with self.engine.begin() as connection:
            return customer_receipts.send(
                connection,
                self._known(connection, did),
                receipt,
                seller=seller,
                outgoing=self.outgoing,
            )

    def receipts(self, did: str) -> list[dict[str, Any]]:
        """The receipts sent to a customer, oldest first; none once the record is erased."""
        with self.engine.begin() as connection:
            self._known(connection, did)
            return customer_receipts.receipts_of(connection, did)

    # reading

    def customers(self, *, state: str | None = None) -> list[dict[str, Any]]:
        """Customers with their current fields (optionally of one relationship state)."""
        with self.engine.begin() as connection:
            query = select(customers).order_by(customers.c.created_at)
            if state is not None:
                query = query.where(customers.c.state == state)
            rows = connection.execute(query).all()
            held: dict[str, dict[str, Any]] = {}
            for row in connection.execute(select(fields).where(fields.c.value.is_not(None))):
                held.setdefault(row.customer, {})[row.path] = json.loads(row.value)
        return [_customer_json(row, held.get(row.did, {})) for row in rows]

    def customer(self, did: str) -> dict[str, Any]:
        """One customer: states, fields with their versions and grant terms, the vendor's data."""
        with self.engine.begin() as connection:
            row = self._known(connection, did)
            current = customer_fields.current(connection, did)
            own = data_rights.vendor_data_of(connection, did)
        document = _customer_json(
            row, {f.path: json.loads(f.value) for f in current if f.value is not None}
        )
        document["terms"] = {
            f.path: {"version": f.version, "purpose": f.purpose, "until": f.until}
            for f in current
            if f.value is not None
        }
        document["vendor_data"] = own
        return document

    def history(self, did: str) -> list[dict[str, Any]]:
        """Every field version received from a customer, and every revocation, oldest first."""
        with self.engine.begin() as connection:
            self._known(connection, did)
            return customer_fields.history_of(connection, did)

    # helpers

    def _customer_row(self, connection: Connection, did: str) -> Any:
        return connection.execute(_CUSTOMER, {"did": did}).one_or_none()

    def _known(self, connection: Connection, did: str) -> Any:
        """The customer's row; UnknownCustomer if there is none."""
        row = self._customer_row(connection, did)
        if row is None:
            raise UnknownCustomer(f"no customer {did}")
        return row

    def _unerased(self, connection: Connection, did: str) -> Any:
        """The customer's row; UnknownCustomer, or Erased when only the tombstone is left."""
        row = self._known(connection, did)
        if row.state == ERASED:
            raise Erased(f"the record of {did} was erased")
        return row

    def _answer(
        self, connection: Connection, did: str, reply_to: str, state: str, request_id: str
    ) -> None:
        self.outgoing.queue(
            connection,
            to=did,
            inbox=reply_to,
            type=RELATIONSHIP_STATE,
            body=RelationshipState(state=PartyState(state)),
            thid=request_id,
        )

    def _changed(self, connection: Connection, change: CustomerChange) -> bool:
        """Queue the change for every adapter; False when there is none."""
        if not self.adapters:
            return False
        document = change.as_json()
        add_jobs(
            connection,
            [
                (adapter_queue(name), change.customer, change.event_id, document)
                for name in self.adapters
            ],
            now=self.clock(),
            max_age=self.max_age,
        )
        return True


def _check_related(customer: Any) -> None:
    """Refuse a message that needs an accepted relationship the person has not ended."""
    if customer is not None and customer.state == ERASED:
        raise ProtocolError(RefusalCode.WRONG_RECIPIENT, "this record was erased")
    if customer is None or customer.state != PartyState.ACCEPTED:
        raise ProtocolError(
            RefusalCode.WRONG_RECIPIENT, "this vendor has no accepted relationship with the sender"
        )
    if customer.person_state == PartyState.ENDED:
        raise ProtocolError(RefusalCode.WRONG_RECIPIENT, "the sender ended this relationship")


def _customer_json(row: Any, current: dict[str, Any]) -> dict[str, Any]:
    return {
        "did": row.did,
        "state": row.state,
        "person_state": row.person_state,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "fields": dict(sorted(current.items())),
    }
