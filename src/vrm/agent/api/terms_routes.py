"""The JSON API for terms, agreements and data rights (under ``/api``, bearer token)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field

from vrm.agent.api.routes import Agent, Request_
from vrm.terms import AgreementInvalid, AlternativeRule, library

router = APIRouter(prefix="/api")
TermId = Annotated[str, Field(min_length=1, max_length=64)]


class DefaultTermsIn(Request_):
    """The default terms, and what to do with vendors' alternatives (all optional)."""

    agreement: TermId | None = None
    additional: Annotated[list[TermId], Field(max_length=16)] | None = None
    alternatives: AlternativeRule | None = None


class VendorTermsIn(Request_):
    """The terms for one vendor; ``agreement`` null goes back to the default."""

    agreement: TermId | None = None
    additional: Annotated[list[TermId], Field(default_factory=list, max_length=16)]


@router.get("/terms", tags=["terms"])
def get_terms(agent: Agent) -> dict[str, Any]:
    """The roster of agreements, the additional terms, and the person's default."""
    return {
        **library().model_dump(mode="json", exclude_none=True),
        "settings": agent.terms_settings().as_json(),
    }


@router.put("/terms/default", tags=["terms"])
def put_default_terms(body: DefaultTermsIn, agent: Agent) -> dict[str, Any]:
    """Change the default terms; open relationships on the default are proffered them."""
    changed = agent.set_default_terms(
        body.agreement, body.additional, alternatives=body.alternatives
    )
    return changed.as_json()


@router.get("/vendors/{vendor}/terms", tags=["terms"])
def get_vendor_terms(vendor: str, agent: Agent) -> dict[str, Any]:
    """The terms chosen for one vendor, and whether they are the default."""
    relationship, choice, is_default = agent.vendor_terms(vendor)
    return {"vendor": relationship.id, **choice.as_json(), "default": is_default}


@router.put("/vendors/{vendor}/terms", tags=["terms"])
def put_vendor_terms(vendor: str, body: VendorTermsIn, agent: Agent) -> dict[str, Any]:
    """Choose one vendor's terms; an open relationship is proffered them at once."""
    proffered = agent.set_vendor_terms(vendor, body.agreement, body.additional)
    return {"proffered": None if proffered is None else proffered.as_json()}


@router.get("/agreements", tags=["agreements"])
def list_agreements(agent: Agent, vendor: str | None = None) -> list[dict[str, Any]]:
    """Every proffer and agreement (of one vendor with ``?vendor=``), oldest first."""
    return [record.as_json() for record in agent.agreements(vendor)]


@router.get("/agreements/{number}", tags=["agreements"])
def show_agreement(number: int, agent: Agent) -> dict[str, Any]:
    """One proffer or agreement with its signed document."""
    return agent.agreement(number).as_json(document=True)


@router.get("/agreements/{number}/verify", tags=["agreements"])
def verify_agreement(number: int, agent: Agent) -> dict[str, Any]:
    """Check the terms' hash and both signatures again: ``valid`` and, if not, why."""
    record = agent.agreement(number)
    if record.agreement is None:
        return {"valid": False, "problem": f"{record.state}: not signed by both yet"}
    try:
        record.agreement.verify()
    except AgreementInvalid as exc:
        return {"valid": False, "problem": str(exc)}
    return {"valid": True, "problem": None}


@router.get("/agreements/{number}/consent-record", tags=["agreements"])
def consent_record_of(number: int, agent: Agent) -> dict[str, Any]:
    """The agreement as an ISO/IEC TS 27560 consent record (W3C DPV JSON-LD)."""
    from vrm.terms.consent_record import consent_record

    record = agent.agreement(number)
    if record.agreement is None:
        raise ValueError(f"agreement {number} is {record.state}: not signed by both yet")
    return consent_record(record.agreement)


@router.post("/agreements/{number}/accept", tags=["agreements"])
def accept_alternative(number: int, agent: Agent) -> dict[str, Any]:
    """Accept a vendor's alternative terms: signed by both, data may flow."""
    return agent.answer_alternative(number, accept=True).as_json()


@router.post("/agreements/{number}/reject", tags=["agreements"])
def reject_alternative(number: int, agent: Agent) -> dict[str, Any]:
    """Reject a vendor's alternative terms."""
    return agent.answer_alternative(number, accept=False).as_json()


@router.post("/vendors/{vendor}/export", tags=["data rights"], status_code=202)
def request_export(vendor: str, agent: Agent) -> dict[str, Any]:
    """Ask the vendor for a signed copy of everything it holds on the person."""
    return agent.request_export(vendor).as_json(agent.clock())


@router.post("/vendors/{vendor}/erase", tags=["data rights"], status_code=202)
def request_erasure(vendor: str, agent: Agent) -> dict[str, Any]:
    """Ask the vendor to erase its record (its CRMs too) and confirm it, signed."""
    return agent.request_erasure(vendor).as_json(agent.clock())


@router.get("/vendors/{vendor}/data", tags=["data rights"])
def vendor_data(vendor: str, agent: Agent) -> dict[str, Any]:
    """The vendor's latest signed export, next to what the person sent it."""
    relationship, exported, comparison = agent.vendor_export(vendor)
    return {
        "vendor": relationship.id,
        "export": exported.model_dump(mode="json"),
        "comparison": comparison.as_json(),
    }


@router.get("/data-requests", tags=["data rights"])
def list_data_requests(agent: Agent, vendor: str | None = None) -> list[dict[str, Any]]:
    """Export and erasure requests, with ``overdue`` for those unanswered in time."""
    now = agent.clock()
    return [request.as_json(now) for request in agent.data_requests(vendor)]
