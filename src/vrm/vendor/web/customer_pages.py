"""The pages of customers: the list, one customer, pending relationships, agreements.

Deciding a pending relationship or held terms is a POST (with the session's CSRF
token) that calls the same :class:`vrm.vendor.records.Records` method as the API,
wakes the worker that tells the person, and goes back to the page it came from.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import Response

from vrm.terms import Answer
from vrm.vendor.endpoint import VendorEndpoint
from vrm.vendor.errors import Conflict
from vrm.vendor.policy import PolicyMode
from vrm.vendor.web import reading
from vrm.web.errors import sentence
from vrm.web.sessions import Session
from vrm.web.site import Site, redirect

CUSTOMERS = "/console/customers"
RELATIONSHIPS = "/console/relationships"
AGREEMENTS = "/console/agreements"
TERMS_HASH = Path(pattern="^[0-9a-f]{64}$")
_DONE = {
    "accepted": "Accepted: the person is told, and your CRMs get the new customer.",
    "refused": "Refused: the person is told.",
    "agreed": "Terms accepted: the agreement is signed and in force.",
    "rejected": "Terms rejected: the person is told which terms you accept.",
}


def customer_routes(*, site: Site, endpoint: VendorEndpoint) -> APIRouter:
    """GET customers, one customer, relationships and agreements; POST the decisions."""
    router = APIRouter(include_in_schema=False)
    records = endpoint.records
    pages = site.pages

    @router.get(CUSTOMERS)
    def customers_page(
        state: str = "",
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        # (Depends as a default: FastAPI resolves the annotations in the module's globals.)
        chosen = state if state in reading.CUSTOMER_STATES else None
        return pages.render(
            "customers.html",
            session=session,
            current="customers",
            customers=reading.customer_list(endpoint.engine, state=chosen),
            shown=reading.CUSTOMERS_SHOWN,
            states=reading.CUSTOMER_STATES,
            state=chosen,
        )

    @router.get(CUSTOMERS + "/{did}")
    def customer_page(did: str, session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        return pages.render(
            "customer.html",
            session=session,
            current="customers",
            detail=reading.customer_detail(endpoint.engine, did),
            holds=_holds_requests(endpoint),
        )

    def relationships(session: Session, *, status: int = 200, **context: Any) -> Response:
        context.setdefault("error", None)
        context.setdefault("done", None)
        policy = records.policy
        return pages.render(
            "relationships.html",
            status=status,
            session=session,
            current="relationships",
            policy=reading.policy_said(policy.mode, len(policy.allowed)),
            holds=_holds_requests(endpoint),
            pending=reading.customer_list(endpoint.engine, state="pending"),
            recent=reading.recent_requests(endpoint.engine),
            **context,
        )

    @router.get(RELATIONSHIPS)
    def relationships_page(
        done: str = "",
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        return relationships(session, done=_DONE.get(done))

    @router.post(RELATIONSHIPS + "/{did}/{decision}")
    async def decide_relationship(
        request: Request,
        did: str,
        decision: str = Path(pattern="^(accept|refuse)$"),
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        await site.form(request, session)
        decide = records.approve if decision == "accept" else records.refuse
        try:
            await anyio.to_thread.run_sync(decide, did)
        except Conflict as exc:
            return relationships(session, status=409, error=sentence(str(exc)))
        endpoint.worker.wake()
        return redirect(f"{RELATIONSHIPS}?done={'accepted' if decision == 'accept' else 'refused'}")

    def agreements(session: Session, *, status: int = 200, **context: Any) -> Response:
        context.setdefault("error", None)
        context.setdefault("done", None)
        return pages.render(
            "agreements.html",
            status=status,
            session=session,
            current="agreements",
            manual=records.terms_policy.manual,
            pending=reading.pending_proffers(endpoint.engine),
            agreements=reading.agreement_list(endpoint.engine),
            shown=reading.AGREEMENTS_SHOWN,
            **context,
        )

    @router.get(AGREEMENTS)
    def agreements_page(
        done: str = "",
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        return agreements(session, done=_DONE.get(done))

    @router.post(AGREEMENTS + "/{did}/{terms_sha256}/{decision}")
    async def decide_terms(
        request: Request,
        did: str,
        terms_sha256: str = TERMS_HASH,
        decision: str = Path(pattern="^(accept|reject)$"),
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        await site.form(request, session)
        answer = Answer.ACCEPTED if decision == "accept" else Answer.REJECTED
        try:
            await anyio.to_thread.run_sync(
                lambda: records.decide_agreement(did, terms_sha256, answer)
            )
        except Conflict as exc:
            return agreements(session, status=409, error=sentence(str(exc)))
        endpoint.worker.wake()
        return redirect(f"{AGREEMENTS}?done={'agreed' if decision == 'accept' else 'rejected'}")

    return router


def _holds_requests(endpoint: VendorEndpoint) -> bool:
    """Whether the policy holds some requests for the vendor (manual, or an allow list)."""
    return endpoint.records.policy.mode != PolicyMode.ACCEPT_ALL
