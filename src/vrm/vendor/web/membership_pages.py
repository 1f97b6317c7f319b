"""The Memberships page: check a code at the till, issue a membership, list and revoke.

"Check a membership" takes the text a scanner types from the customer's QR code
and shows the verdict the API gives (:class:`vrm.vendor.checkout.Checkout`): the
tier and benefits, or why it is refused. Issuing and revoking call the same
:class:`vrm.vendor.memberships.MembershipDesk` as the API and wake the worker that
tells the person. A form the endpoint refuses comes back with what was typed.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.responses import Response

from vrm.protocol import MembershipRefused
from vrm.vendor.checkout import verdict
from vrm.vendor.endpoint import VendorEndpoint
from vrm.vendor.errors import VendorError
from vrm.vendor.memberships import MembershipRequest
from vrm.vendor.web import reading
from vrm.web.errors import sentence
from vrm.web.sessions import Session
from vrm.web.site import Site, redirect

MEMBERSHIPS = "/console/memberships"
_DONE = {
    "issued": "Issued: the credential is on its way to the person.",
    "revoked": "Revoked: checkouts refuse it from now on, and the person is told.",
}
_REASONS = {
    "malformed": "This is not a membership code.",
    "tampered": "The code was changed: it is not the one issued.",
    "another_vendor": "This membership was issued by another vendor.",
    "wrong_holder": "The code was made by someone other than the member.",
    "wrong_audience": "The code was made for another vendor.",
    "stale": "The code is too old: ask for a fresh one.",
    "not_yet_valid": "The membership has not started yet.",
    "expired": "The membership has expired.",
    "revoked": "The membership was revoked.",
    "superseded": "A newer credential replaced this one: the member's app receives it soon.",
    "replayed": "This code was shown before: ask for a fresh one.",
}


def membership_routes(*, site: Site, endpoint: VendorEndpoint) -> APIRouter:
    """GET the page; POST a check, an issue, a revocation."""
    router = APIRouter(include_in_schema=False)
    pages = site.pages
    desk = endpoint.memberships

    def page(session: Session, *, status: int = 200, **context: Any) -> Response:
        context.setdefault("done", None)
        context.setdefault("error", None)
        context.setdefault("checked", None)
        context.setdefault("typed", {})
        memberships = [m | {"short": reading.short_did(m["customer"])} for m in desk.listed()]
        return pages.render(
            "memberships.html",
            status=status,
            session=session,
            current="memberships",
            memberships=memberships,
            customers=reading.customer_list(endpoint.engine, state="accepted"),
            program=desk.program,
            **context,
        )

    @router.get(MEMBERSHIPS)
    def memberships_page(
        done: str = "",
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        return page(session, done=_DONE.get(done))

    @router.post(MEMBERSHIPS + "/check")
    async def check(request: Request, session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        fields = await site.form(request, session)
        try:
            checked = await anyio.to_thread.run_sync(
                endpoint.checkout.verify, fields.get("code", "")
            )
        except MembershipRefused as refused:
            said = {
                "valid": False,
                "reason": refused.reason.value,
                "said": _REASONS[refused.reason.value],
                "detail": refused.detail,
            }
            return await anyio.to_thread.run_sync(lambda: page(session, status=422, checked=said))
        found = verdict(checked)
        found["member"]["short"] = reading.short_did(found["member"]["customer"])
        return await anyio.to_thread.run_sync(lambda: page(session, checked=found))

    @router.post(MEMBERSHIPS + "/issue")
    async def issue(request: Request, session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        fields = await site.form(request, session)
        try:
            asked = _request(fields)
            await anyio.to_thread.run_sync(desk.issue, fields.get("customer", ""), asked)
        except (VendorError, ValueError) as exc:
            said, status = sentence(str(exc)), getattr(exc, "status", 422)
            return await anyio.to_thread.run_sync(
                lambda: page(session, status=status, error=said, typed=fields)
            )
        endpoint.worker.wake()
        return redirect(f"{MEMBERSHIPS}?done=issued")

    @router.post(MEMBERSHIPS + "/{credential_id}/revoke")
    async def revoke(
        request: Request,
        credential_id: str,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        fields = await site.form(request, session)
        reason = fields.get("reason", "").strip()[:1024] or None
        await anyio.to_thread.run_sync(lambda: desk.revoke(credential_id, reason=reason))
        endpoint.worker.wake()
        return redirect(f"{MEMBERSHIPS}?done=revoked")

    return router


def _request(fields: dict[str, str]) -> MembershipRequest:
    """The issue form as a request; ValueError says what to correct."""
    document: dict[str, Any] = {
        "tier": fields.get("tier", "").strip(),
        "benefits": [
            line.strip() for line in fields.get("benefits", "").splitlines() if line.strip()
        ],
    }
    for name in ("member_since", "valid_until", "program", "membership_number"):
        value = fields.get(name, "").strip()
        if value:
            document[name] = value
    try:
        return MembershipRequest.model_validate(document)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]).replace("_", " ")
        raise ValueError(f"{where}: {error['msg']}") from None
