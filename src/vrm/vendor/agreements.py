"""Agreements with customers: proffered terms, the vendor's answers, the signed agreements.

IEEE 7012 ("MyTerms"): the person proffers, the vendor accepts, answers with one
alternative, or rejects, and both keep the agreement signed by both.
Specification: docs/protocol.md 7.6.

One row per proffer, received or made:

- a person's proffer is ``proffered`` until answered, then ``active`` (accepted: the
  row holds the Agreement both signed), ``alternative`` (answered with the vendor's
  alternative) or ``rejected``;
- the vendor's alternative is ``proffered`` until the person answers, then
  ``active`` or ``rejected``.

An agreement that becomes active supersedes the customer's previous one, and a new
proffer from the person supersedes proffers still open (``superseded``). Every
function works in the caller's transaction.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, Connection, Exists, exists, insert, select, update

from vrm.protocol import AGREEMENT_ANSWER, AgreementAnswer, ProtocolError, RefusalCode
from vrm.terms import (
    Agreement,
    AgreementInvalid,
    Answer,
    Proffer,
    UnknownTerm,
    VendorTermsPolicy,
    accept,
    countersigned,
    library,
    proffer,
)
from vrm.terms.agreement import Party
from vrm.vendor.errors import InvalidRequest, NotPending, UnknownProffer
from vrm.vendor.outgoing import Outgoing
from vrm.vendor.policy import rejection_reason, terms_decision
from vrm.vendor.schema import agreements, customers

PROFFERED, ALTERNATIVE, ACTIVE = "proffered", "alternative", "active"
REJECTED, SUPERSEDED = "rejected", "superseded"
PERSON: Party = "person"
VENDOR: Party = "vendor"

# messages from people


def check_proffer(offer: Proffer, *, sender: str, vendor: str) -> None:
    """Refuse a proffer that is not the sender's own, to this vendor, signed as it stands.

    Raises:
        ProtocolError: ``invalid_body``, saying which of these fails.
    """
    try:
        offer.verify()
    except AgreementInvalid as exc:
        raise ProtocolError(RefusalCode.INVALID_BODY, f"the proffer does not hold: {exc}") from exc
    statement = offer.statement
    if statement.proffered_by != PERSON:
        raise ProtocolError(RefusalCode.INVALID_BODY, "a person's proffer is proffered_by person")
    if statement.person != sender:
        raise ProtocolError(RefusalCode.INVALID_BODY, "the proffer names another person")
    if statement.vendor != vendor:
        raise ProtocolError(RefusalCode.INVALID_BODY, "the proffer is addressed to another vendor")


def take_proffer(
    connection: Connection, *, customer: str, offer: Proffer, message_id: str, now: float
) -> Any:
    """Store a checked proffer, or find it stored already (the same request again); the row.

    A new proffer supersedes the customer's proffers still open.
    """
    held = _latest(
        connection, customer, proffered_by=PERSON, terms_sha256=offer.statement.terms_sha256
    )
    if held is not None and held.state != SUPERSEDED and _same_statement(held, offer):
        return held
    connection.execute(
        update(agreements)
        .where(agreements.c.customer == customer, agreements.c.state == PROFFERED)
        .values(state=SUPERSEDED, answered_at=now)
    )
    connection.execute(
        insert(agreements).values(
            customer=customer,
            terms_sha256=offer.statement.terms_sha256,
            proffered_by=PERSON,
            state=PROFFERED,
            document=offer.model_dump_json(),
            proffer_message_id=message_id,
            created_at=now,
        )
    )
    return _latest(connection, customer, proffered_by=PERSON)


def answer_proffer(
    connection: Connection,
    row: Any,
    *,
    outgoing: Outgoing,
    policy: VendorTermsPolicy,
    inbox: str,
    thid: str,
    decision: Answer | None = None,
) -> bool:
    """Answer the person's proffer in ``row``, by ``policy`` unless ``decision`` is given.

    A proffer answered before gets the same answer again. Returns False when
    nothing was sent: the proffer waits for the vendor, or was superseded.
    """
    if row.state == PROFFERED:
        offer = Proffer.model_validate_json(row.document)
        decision = decision or terms_decision(policy, offer.terms)
        if decision == Answer.PENDING:
            return False
        body, message_id = _decided(connection, row, offer, decision, outgoing, policy)
    else:
        given = _given_answer(connection, row, policy)
        if given is None:
            return False
        body, message_id = given, None
    outgoing.queue(
        connection,
        to=row.customer,
        inbox=inbox,
        type=AGREEMENT_ANSWER,
        body=body,
        thid=thid,
        message_id=message_id,
    )
    return True


def answer_latest_proffer(
    connection: Connection,
    customer: str,
    *,
    inbox: str,
    outgoing: Outgoing,
    policy: VendorTermsPolicy,
) -> bool:
    """Answer the customer's latest proffer (its relationship was just accepted)."""
    row = _latest(connection, customer, proffered_by=PERSON)
    if row is None:
        return False
    return answer_proffer(
        connection, row, outgoing=outgoing, policy=policy, inbox=inbox, thid=row.proffer_message_id
    )


def close_open_proffers(connection: Connection, customer: str, *, now: float) -> None:
    """Reject the customer's open proffers without an answer (the relationship was refused)."""
    connection.execute(
        update(agreements)
        .where(agreements.c.customer == customer, agreements.c.state == PROFFERED)
        .values(state=REJECTED, answered_at=now)
    )


def take_person_answer(
    connection: Connection, customer: str, body: AgreementAnswer, *, now: float
) -> None:
    """Apply the person's answer to the vendor's alternative.

    The same answer again changes nothing; accepting an alternative that was rejected
    or withdrawn meanwhile is refused, so the person's agent does not take it as agreed.

    Raises:
        ProtocolError: ``invalid_body`` for an unknown hash, a counter-alternative, or
            a signature that does not make the agreement.
    """
    row = _latest(connection, customer, proffered_by=VENDOR, terms_sha256=body.terms_sha256)
    if row is None:
        raise ProtocolError(RefusalCode.INVALID_BODY, "no proffer with this hash")
    if body.answer == "alternative":
        raise ProtocolError(
            RefusalCode.INVALID_BODY,
            "an alternative is accepted or rejected; new terms come as an agreement.proffer",
        )
    if row.state != PROFFERED:
        # Accepted before (then active, or superseded since): its document is the agreement.
        accepted_again = row.state in (ACTIVE, SUPERSEDED) and '"signatures"' in row.document
        if body.answer == "accepted" and not accepted_again:
            # The person would take as agreed what this vendor no longer offers.
            raise ProtocolError(
                RefusalCode.INVALID_BODY, f"this alternative is {row.state}: it cannot be accepted"
            )
        return  # the same answer again: harmless
    if body.answer == "rejected":
        _set(connection, row.id, state=REJECTED, answered_at=now)
        return
    offer = Proffer.model_validate_json(row.document)
    try:
        agreement = countersigned(
            offer, accepted_time=body.accepted_time or 0, signature=body.signature or ""
        )
    except AgreementInvalid as exc:
        raise ProtocolError(RefusalCode.INVALID_BODY, f"no agreement: {exc}") from exc
    _activate(connection, row, agreement, now=now)


def in_force(customer: ColumnElement[str]) -> Exists:
    """Whether an agreement is in force with ``customer``, as a column of a customer query.

    Asked with the customer's row, in the same statement, on every update.
    """
    return exists().where(agreements.c.customer == customer, agreements.c.state == ACTIVE)


def require_agreement(customer: Any) -> None:
    """Refuse personal data from a customer with no agreement in force.

    ``customer`` is the customer's row, with its ``agreed`` column (:func:`in_force`).

    Raises:
        ProtocolError: ``no_agreement``.
    """
    if not customer.agreed:
        raise ProtocolError(
            RefusalCode.NO_AGREEMENT,
            "no agreement is in force with the sender: personal data comes only under "
            "terms both sides signed",
        )


def deletes_on_end(connection: Connection, customer: str) -> bool:
    """Whether the agreement in force says the record is erased when the person ends."""
    agreement = active_agreement(connection, customer)
    return agreement is not None and agreement.terms.obligations().delete_on_end is True


def active_agreement(connection: Connection, customer: str) -> Agreement | None:
    """The agreement in force with the customer, if any."""
    row = connection.execute(
        select(agreements.c.document)
        .where(agreements.c.customer == customer, agreements.c.state == ACTIVE)
        .order_by(agreements.c.id.desc())
        .limit(1)
    ).one_or_none()
    return None if row is None else Agreement.model_validate_json(row.document)


# the vendor's decisions


def decide_pending(
    connection: Connection,
    customer: Any,
    terms_sha256: str,
    decision: Answer,
    *,
    alternative: str | None,
    outgoing: Outgoing,
    policy: VendorTermsPolicy,
) -> dict[str, Any]:
    """The vendor answers a proffer held for it; the proffer as answered.

    Raises:
        UnknownProffer: the customer proffered no such terms.
        NotPending: the proffer was answered, or the relationship is not accepted.
        InvalidRequest: ``alternative`` is not an agreement of the library.
    """
    if decision == Answer.ALTERNATIVE:
        policy = replace(policy, alternative=_library_agreement(alternative))
    row = person_proffer(connection, customer.did, terms_sha256)
    if row is None:
        raise UnknownProffer(f"{customer.did} proffered no terms {terms_sha256}")
    if customer.state != "accepted":
        raise NotPending(f"the relationship with {customer.did} is {customer.state}, not accepted")
    if row.state != PROFFERED:
        raise NotPending(f"the proffer {terms_sha256} is {row.state}, not pending")
    answer_proffer(
        connection,
        row,
        outgoing=outgoing,
        policy=policy,
        inbox=customer.reply_to,
        thid=row.proffer_message_id,
        decision=decision,
    )
    return agreement_json(person_proffer(connection, customer.did, terms_sha256))


def _library_agreement(term_id: str | None) -> str:
    """The library's id of the agreement ``term_id``; InvalidRequest when there is none."""
    try:
        return library().agreement(term_id or "").id
    except UnknownTerm as exc:
        raise InvalidRequest(str(exc)) from exc


# reading


def agreements_of(connection: Connection, customer: str) -> list[dict[str, Any]]:
    """Every proffer and agreement of the customer, oldest first, as the API shows them."""
    rows = connection.execute(
        select(agreements).where(agreements.c.customer == customer).order_by(agreements.c.id)
    ).all()
    return [agreement_json(row) for row in rows]


def pending_proffers(connection: Connection) -> list[dict[str, Any]]:
    """People's proffers waiting for the vendor's decision, in accepted relationships."""
    rows = connection.execute(
        select(agreements)
        .join(customers, customers.c.did == agreements.c.customer)
        .where(
            agreements.c.state == PROFFERED,
            agreements.c.proffered_by == PERSON,
            customers.c.state == "accepted",
        )
        .order_by(agreements.c.id)
    ).all()
    return [agreement_json(row) for row in rows]


def person_proffer(connection: Connection, customer: str, terms_sha256: str) -> Any:
    """The customer's latest proffer of the terms ``terms_sha256``, or None."""
    return _latest(connection, customer, proffered_by=PERSON, terms_sha256=terms_sha256)


def signed_agreements(connection: Connection, customer: str) -> list[Agreement]:
    """Every agreement signed with the customer, in force or superseded, oldest first."""
    rows = connection.execute(
        select(agreements.c.document)
        .where(
            agreements.c.customer == customer,
            agreements.c.state.in_([ACTIVE, SUPERSEDED]),
        )
        .order_by(agreements.c.id)
    ).all()
    documents = [json.loads(row.document) for row in rows]
    return [Agreement.model_validate(d) for d in documents if "signatures" in d]


def agreement_json(row: Any) -> dict[str, Any]:
    """One row as the API shows it; ``document`` is the Proffer or the signed Agreement."""
    document = _document(row)
    return {
        "customer": row.customer,
        "terms_sha256": row.terms_sha256,
        "name": document.terms.name,
        "proffered_by": row.proffered_by,
        "state": row.state,
        "in_answer_to": row.in_answer_to,
        "proffer_message_id": row.proffer_message_id,
        "created_at": row.created_at,
        "answered_at": row.answered_at,
        "document": document.model_dump(mode="json", exclude_none=True),
    }


# helpers


def _decided(
    connection: Connection,
    row: Any,
    offer: Proffer,
    decision: Answer,
    outgoing: Outgoing,
    policy: VendorTermsPolicy,
) -> tuple[AgreementAnswer, str | None]:
    """Record the decision on ``row``; the answer, and the id it must be sent under."""
    now = outgoing.clock()
    sha = row.terms_sha256
    if decision == Answer.ACCEPTED:
        agreement = accept(offer, outgoing.identity, now=int(now))
        _activate(connection, row, agreement, now=now)
        return _accepted_answer(agreement), None
    if decision == Answer.ALTERNATIVE:
        alternative, message_id = _offer_alternative(connection, row, offer, outgoing, policy)
        return AgreementAnswer(terms_sha256=sha, answer="alternative", alternative=alternative), (
            message_id
        )
    _set(connection, row.id, state=REJECTED, answered_at=now)
    return AgreementAnswer(
        terms_sha256=sha, answer="rejected", reason=rejection_reason(policy)
    ), None


def _offer_alternative(
    connection: Connection, row: Any, offer: Proffer, outgoing: Outgoing, policy: VendorTermsPolicy
) -> tuple[Proffer, str]:
    """Sign and store the vendor's alternative to ``row``; the id of the message to carry it."""
    now = outgoing.clock()
    terms = policy.alternative_terms(library(), offer.terms)
    if terms is None:
        raise ValueError("the terms policy names no alternative")
    alternative = proffer(
        terms,
        outgoing.identity,
        person=row.customer,
        vendor=outgoing.identity.did,
        proffered_by=VENDOR,
        now=int(now),
    )
    message_id = str(uuid.uuid4())
    connection.execute(
        insert(agreements).values(
            customer=row.customer,
            terms_sha256=alternative.statement.terms_sha256,
            proffered_by=VENDOR,
            state=PROFFERED,
            in_answer_to=row.terms_sha256,
            document=alternative.model_dump_json(),
            proffer_message_id=message_id,
            created_at=now,
        )
    )
    _set(connection, row.id, state=ALTERNATIVE, answered_at=now)
    return alternative, message_id


def _given_answer(
    connection: Connection, row: Any, policy: VendorTermsPolicy
) -> AgreementAnswer | None:
    """The answer already given to the person's proffer in ``row`` (None: superseded)."""
    sha = row.terms_sha256
    if row.state == ACTIVE:
        return _accepted_answer(Agreement.model_validate_json(row.document))
    if row.state == REJECTED:
        return AgreementAnswer(terms_sha256=sha, answer="rejected", reason=rejection_reason(policy))
    if row.state == ALTERNATIVE:
        given = connection.execute(
            select(agreements)
            .where(agreements.c.customer == row.customer, agreements.c.in_answer_to == sha)
            .order_by(agreements.c.id.desc())
            .limit(1)
        ).one()
        offered = _document(given)
        alternative = offered.proffer if isinstance(offered, Agreement) else offered
        return AgreementAnswer(terms_sha256=sha, answer="alternative", alternative=alternative)
    return None


def _accepted_answer(agreement: Agreement) -> AgreementAnswer:
    return AgreementAnswer(
        terms_sha256=agreement.statement.terms_sha256,
        answer="accepted",
        accepted_time=agreement.accepted_time,
        signature=agreement.signatures["vendor"],
    )


def _activate(connection: Connection, row: Any, agreement: Agreement, *, now: float) -> None:
    """Make ``agreement`` (signed by both) the one in force; the previous one is superseded."""
    connection.execute(
        update(agreements)
        .where(
            agreements.c.customer == row.customer,
            agreements.c.state == ACTIVE,
            agreements.c.id != row.id,
        )
        .values(state=SUPERSEDED)
    )
    _set(connection, row.id, state=ACTIVE, document=agreement.model_dump_json(), answered_at=now)


def _set(connection: Connection, row_id: int, **values: Any) -> None:
    connection.execute(update(agreements).where(agreements.c.id == row_id).values(**values))


def _latest(
    connection: Connection, customer: str, *, proffered_by: str, terms_sha256: str | None = None
) -> Any:
    query = select(agreements).where(
        agreements.c.customer == customer, agreements.c.proffered_by == proffered_by
    )
    if terms_sha256 is not None:
        query = query.where(agreements.c.terms_sha256 == terms_sha256)
    return connection.execute(query.order_by(agreements.c.id.desc()).limit(1)).one_or_none()


def _same_statement(row: Any, offer: Proffer) -> bool:
    return _document(row).statement == offer.statement


def _document(row: Any) -> Proffer | Agreement:
    data = json.loads(row.document)
    return Agreement.model_validate(data) if "signatures" in data else Proffer.model_validate(data)
