"""Agreements with vendors: proffered, answered, signed by both, kept sealed.

The person proffers terms in the relationship request, or later with an
``agreement.proffer``. The vendor's ``agreement.answer`` accepts them (its
signature completes the agreement), rejects them, or proffers one alternative,
which the agent accepts on its own when it protects the person at least as much
as what was proffered, else asks the person (or rejects it, if told to). Data
flows to a vendor only under an active agreement. Every step is in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from vrm.agent.audit import service as audit
from vrm.agent.errors import Conflict, NotFound
from vrm.agent.outbox.store import DEFAULT_MAX_AGE
from vrm.agent.relationships.service import Relationship, identity_of, send_to_vendor
from vrm.protocol import (
    AGREEMENT_ANSWER,
    AGREEMENT_PROFFER,
    AgreementAnswer,
    AgreementProffer,
    Identity,
    ProtocolError,
    RefusalCode,
)
from vrm.terms import (
    Agreement,
    AgreementInvalid,
    AlternativeRule,
    Answer,
    Proffer,
    Terms,
    accept,
    countersigned,
    judge_alternative,
    proffer,
)
from vrm.vault import Sealer

PROFFERED = "proffered"
"""The person proffered these terms; the vendor has not answered."""
ALTERNATIVE = "alternative"
"""The vendor proffered these instead; the person has to answer."""
ACTIVE = "active"
REJECTED = "rejected"
SUPERSEDED = "superseded"
WITHDRAWN = "withdrawn"
"""The person proffered other terms before the vendor answered these."""


@dataclass(frozen=True)
class AgreementRecord:
    """One proffer or agreement with one vendor, as the agent keeps it."""

    id: int
    vendor_id: int
    state: str
    proffered_by: str
    terms_sha256: str
    document: Proffer | Agreement
    message_id: str
    created_at: float
    answered_at: float | None

    @property
    def terms(self) -> Terms:
        """The terms."""
        return self.document.terms

    @property
    def agreement(self) -> Agreement | None:
        """The agreement signed by both, once there is one."""
        return self.document if isinstance(self.document, Agreement) else None

    def as_json(self, *, document: bool = False) -> dict[str, Any]:
        """A JSON-ready dict; ``document`` adds the signed document itself."""
        found: dict[str, Any] = {
            "id": self.id,
            "vendor_id": self.vendor_id,
            "state": self.state,
            "proffered_by": self.proffered_by,
            "terms": self.terms.name,
            "terms_sha256": self.terms_sha256,
            "obligations": self.terms.obligations().model_dump(mode="json", exclude_none=True),
            "signed_by_both": self.agreement is not None,
            "created_at": self.created_at,
            "answered_at": self.answered_at,
        }
        if document:
            found["document"] = self.document.model_dump(mode="json", exclude_none=True)
        return found


def make_proffer(
    connection: Connection,
    sealer: Sealer,
    *,
    relationship: Relationship,
    identity: Identity,
    terms: Terms,
    message_id: str,
    now: float,
    signed: Proffer | None = None,
) -> AgreementRecord:
    """Keep the person's proffer of ``terms`` (signed already, or signed here).

    A proffer the vendor has not answered yet is withdrawn: only the newest counts.
    """
    offer = signed or sign_proffer(relationship, identity, terms, now)
    connection.execute(
        text(
            "UPDATE agreements SET state = 'withdrawn', answered_at = :now"
            " WHERE vendor_id = :vendor AND state IN ('proffered', 'alternative')"
        ),
        {"vendor": relationship.id, "now": now},
    )
    return _keep(connection, sealer, relationship, PROFFERED, offer, message_id, now, by="person")


def sign_proffer(
    relationship: Relationship, identity: Identity, terms: Terms, now: float
) -> Proffer:
    """The person's signed proffer of ``terms`` to this relationship's vendor."""
    return proffer(
        terms,
        identity,
        person=relationship.our_did,
        vendor=relationship.vendor.did,
        proffered_by="person",
        now=int(now),
    )


def proffer_again(
    connection: Connection,
    sealer: Sealer,
    *,
    relationship: Relationship,
    terms: Terms,
    max_age: float = DEFAULT_MAX_AGE,
    now: float,
) -> tuple[AgreementRecord, str] | None:
    """Proffer new terms in an open relationship.

    None when they are already agreed, or already proffered and waiting for the vendor.
    """
    sha = terms.sha256()
    current = active_agreement(connection, sealer, relationship.id)
    if current is not None and current.terms_sha256 == sha:
        return None
    waiting = _find(connection, sealer, relationship.id, sha, "person")
    if waiting is not None and waiting.state == PROFFERED:
        return None
    identity = identity_of(connection, sealer, relationship)
    offer = sign_proffer(relationship, identity, terms, now)
    message_id = send_to_vendor(
        connection,
        sealer,
        relationship,
        type=AGREEMENT_PROFFER,
        body=AgreementProffer(proffer=offer),
        identity=identity,
        max_age=max_age,
        now=now,
    )
    record = make_proffer(
        connection,
        sealer,
        relationship=relationship,
        identity=identity,
        terms=terms,
        message_id=message_id,
        now=now,
        signed=offer,
    )
    return record, message_id


@dataclass(frozen=True)
class AnswerOutcome:
    """What a vendor's answer came to: the record, and the messages it queued."""

    record: AgreementRecord
    queued: list[str]
    became_active: bool


def take_vendor_answer(
    connection: Connection,
    sealer: Sealer,
    *,
    relationship: Relationship,
    answer: AgreementAnswer,
    message_id: str,
    rule: AlternativeRule,
    max_age: float = DEFAULT_MAX_AGE,
    now: float,
) -> AnswerOutcome:
    """Apply the vendor's answer to the person's proffer.

    Raises:
        ProtocolError: ``invalid_body`` when the answer names no proffer of ours,
            its signature does not verify, or its alternative is not the vendor's.
    """
    proffered = _find(connection, sealer, relationship.id, answer.terms_sha256, "person")
    if proffered is None:
        raise ProtocolError(RefusalCode.INVALID_BODY, "no proffer of ours has this terms hash")
    if proffered.state != PROFFERED:
        return AnswerOutcome(proffered, [], False)  # answered already: the same answer again
    assert isinstance(proffered.document, Proffer)  # noqa: S101 - a proffered row holds one
    if answer.answer == "accepted":
        assert answer.accepted_time is not None  # noqa: S101 - the body's validator
        assert answer.signature is not None  # noqa: S101 - checks both come with accepted
        try:
            agreement = countersigned(
                proffered.document,
                accepted_time=answer.accepted_time,
                signature=answer.signature,
            )
        except AgreementInvalid as exc:
            raise ProtocolError(RefusalCode.INVALID_BODY, str(exc)) from exc
        record = _activate(connection, sealer, proffered, agreement, message_id, now, by="vendor")
        return AnswerOutcome(record, [], True)
    _set_state(connection, proffered.id, REJECTED, now)
    audit.append(
        connection,
        sealer,
        kind="agreement.rejected",
        details={
            **_details(proffered, by="vendor"),
            "reason": answer.reason,
            "message": message_id,
        },
        now=now,
    )
    if answer.answer == "rejected" or answer.alternative is None:
        return AnswerOutcome(_get(connection, sealer, proffered.id), [], False)
    alternative = _check_alternative(relationship, answer.alternative)
    record = _keep(
        connection, sealer, relationship, ALTERNATIVE, alternative, message_id, now, by="vendor"
    )
    decision = judge_alternative(proffered.document.terms, alternative.terms, rule)
    if decision == Answer.PENDING:
        return AnswerOutcome(record, [], False)
    return answer_alternative(
        connection,
        sealer,
        relationship=relationship,
        record=record,
        accepted=decision == Answer.ACCEPTED,
        reason="as protective as the terms proffered"
        if decision == Answer.ACCEPTED
        else "less protective than the terms proffered",
        max_age=max_age,
        now=now,
    )


def answer_alternative(
    connection: Connection,
    sealer: Sealer,
    *,
    relationship: Relationship,
    record: AgreementRecord,
    accepted: bool,
    reason: str | None = None,
    max_age: float = DEFAULT_MAX_AGE,
    now: float,
) -> AnswerOutcome:
    """The person accepts or rejects the vendor's alternative; the vendor is told.

    Raises:
        Conflict: the record is not an alternative waiting for an answer.
    """
    if record.state != ALTERNATIVE or not isinstance(record.document, Proffer):
        raise Conflict(f"agreement {record.id} is {record.state}: there is nothing to answer")
    identity = identity_of(connection, sealer, relationship)
    if accepted:
        agreement = accept(record.document, identity, now=int(now))
        body = AgreementAnswer(
            terms_sha256=record.terms_sha256,
            answer="accepted",
            accepted_time=agreement.accepted_time,
            signature=agreement.signatures["person"],
            reason=reason,
        )
    else:
        body = AgreementAnswer(terms_sha256=record.terms_sha256, answer="rejected", reason=reason)
    message_id = send_to_vendor(
        connection,
        sealer,
        relationship,
        type=AGREEMENT_ANSWER,
        body=body,
        thid=record.message_id,
        identity=identity,
        max_age=max_age,
        now=now,
    )
    if accepted:
        active = _activate(connection, sealer, record, agreement, message_id, now, by="person")
        return AnswerOutcome(active, [message_id], True)
    _set_state(connection, record.id, REJECTED, now)
    audit.append(
        connection,
        sealer,
        kind="agreement.rejected",
        details={**_details(record, by="person"), "reason": reason, "message": message_id},
        now=now,
    )
    return AnswerOutcome(_get(connection, sealer, record.id), [message_id], False)


def active_agreement(
    connection: Connection, sealer: Sealer, vendor_id: int
) -> AgreementRecord | None:
    """The agreement in force with a vendor, if any."""
    found = _select(
        connection, sealer, "WHERE vendor_id = :vendor AND state = 'active'", {"vendor": vendor_id}
    )
    return found[-1] if found else None


def agreements(
    connection: Connection, sealer: Sealer, *, vendor_id: int | None = None
) -> list[AgreementRecord]:
    """Every proffer and agreement (of one vendor, or all), oldest first."""
    if vendor_id is None:
        return _select(connection, sealer, "", {})
    return _select(connection, sealer, "WHERE vendor_id = :vendor", {"vendor": vendor_id})


def get_agreement(connection: Connection, sealer: Sealer, agreement_id: int) -> AgreementRecord:
    """The proffer or agreement with this number.

    Raises:
        NotFound: there is none.
    """
    return _get(connection, sealer, agreement_id)


# helpers


def _check_alternative(relationship: Relationship, alternative: Proffer) -> Proffer:
    statement = alternative.statement
    if (
        statement.proffered_by != "vendor"
        or statement.vendor != relationship.vendor.did
        or statement.person != relationship.our_did
    ):
        raise ProtocolError(
            RefusalCode.INVALID_BODY, "the alternative is not the vendor's proffer to this person"
        )
    try:
        alternative.verify()
    except AgreementInvalid as exc:
        raise ProtocolError(RefusalCode.INVALID_BODY, f"the alternative: {exc}") from exc
    return alternative


def _activate(
    connection: Connection,
    sealer: Sealer,
    record: AgreementRecord,
    agreement: Agreement,
    message_id: str,
    now: float,
    *,
    by: str,
) -> AgreementRecord:
    connection.execute(
        text(
            "UPDATE agreements SET state = 'superseded', answered_at = :now"
            " WHERE vendor_id = :vendor AND state = 'active'"
        ),
        {"vendor": record.vendor_id, "now": now},
    )
    connection.execute(
        text(
            "UPDATE agreements SET state = 'active', sealed_document = :sealed,"
            " answered_at = :now WHERE id = :id"
        ),
        {"sealed": _seal(sealer, record.vendor_id, agreement), "now": now, "id": record.id},
    )
    activated = _get(connection, sealer, record.id)
    audit.append(
        connection,
        sealer,
        kind="agreement.accepted",
        details={**_details(activated, by=by), "message": message_id},
        now=now,
    )
    return activated


def _set_state(connection: Connection, record_id: int, state: str, now: float) -> None:
    connection.execute(
        text("UPDATE agreements SET state = :state, answered_at = :now WHERE id = :id"),
        {"state": state, "now": now, "id": record_id},
    )


def _details(record: AgreementRecord, *, by: str) -> dict[str, Any]:
    return {
        "vendor": record.vendor_id,
        "agreement": record.id,
        "terms": record.terms.name,
        "terms_sha256": record.terms_sha256,
        "by": by,
    }


def _keep(
    connection: Connection,
    sealer: Sealer,
    relationship: Relationship,
    state: str,
    document: Proffer,
    message_id: str,
    now: float,
    *,
    by: str,
) -> AgreementRecord:
    """Keep a proffer (the person's, or the vendor's alternative) and audit it."""
    vendor_id = relationship.id
    record_id = connection.execute(
        text(
            "INSERT INTO agreements (vendor_id, terms_sha256, proffered_by, state,"
            " sealed_document, message_id, created_at) VALUES (:vendor, :sha, :by, :state,"
            " :sealed, :message, :now) RETURNING id"
        ),
        {
            "vendor": vendor_id,
            "sha": document.statement.terms_sha256,
            "by": document.statement.proffered_by,
            "state": state,
            "sealed": _seal(sealer, vendor_id, document),
            "message": message_id,
            "now": now,
        },
    ).scalar_one()
    record = _get(connection, sealer, record_id)
    audit.append(
        connection, sealer, kind=f"agreement.{state}", details=_details(record, by=by), now=now
    )
    return record


def _find(
    connection: Connection, sealer: Sealer, vendor_id: int, sha: str, proffered_by: str
) -> AgreementRecord | None:
    found = _select(
        connection,
        sealer,
        "WHERE vendor_id = :vendor AND terms_sha256 = :sha AND proffered_by = :by",
        {"vendor": vendor_id, "sha": sha, "by": proffered_by},
    )
    return found[-1] if found else None


def _get(connection: Connection, sealer: Sealer, record_id: int) -> AgreementRecord:
    found = _select(connection, sealer, "WHERE id = :id", {"id": record_id})
    if not found:
        raise NotFound(f"no agreement {record_id}")
    return found[0]


_SELECT = (
    "SELECT id, vendor_id, state, proffered_by, terms_sha256, sealed_document, message_id,"
    " created_at, answered_at FROM agreements "
)


def _select(
    connection: Connection, sealer: Sealer, where: str, parameters: dict[str, Any]
) -> list[AgreementRecord]:
    rows = connection.execute(text(_SELECT + where + " ORDER BY id"), parameters).all()
    return [
        AgreementRecord(
            id=row.id,
            vendor_id=row.vendor_id,
            state=row.state,
            proffered_by=row.proffered_by,
            terms_sha256=row.terms_sha256,
            document=_open(sealer, row.vendor_id, row.sealed_document),
            message_id=row.message_id,
            created_at=row.created_at,
            answered_at=row.answered_at,
        )
        for row in rows
    ]


def _seal(sealer: Sealer, vendor_id: int, document: Proffer | Agreement) -> bytes:
    kind = "agreement" if isinstance(document, Agreement) else "proffer"
    payload = document.model_dump_json(exclude_none=True)
    return sealer.seal_text(f"{kind}\n{payload}", _place(vendor_id))


def _open(sealer: Sealer, vendor_id: int, sealed: bytes) -> Proffer | Agreement:
    kind, _, payload = sealer.open_text(sealed, _place(vendor_id)).partition("\n")
    if kind == "agreement":
        return Agreement.model_validate_json(payload)
    return Proffer.model_validate_json(payload)


def _place(vendor_id: int) -> str:
    return f"agreements/{vendor_id}"
