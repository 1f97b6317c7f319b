"""The Vendors pages: every relationship as its pair of r-buttons, and each vendor's own page.

``GET /vendors`` lists the relationships and holds the form that adds a vendor by
its URL; ``GET /vendors/{n}`` shows one vendor: both r-buttons, the terms, the
grants, the latest deliveries and the person's data rights. Every change is a
POST carrying the session's CSRF token; ending a relationship and asking for
erasure are confirmed on a page of their own first. Whatever goes wrong comes
back as the page with a message, never as a traceback.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from vrm.agent.errors import AgentError, Conflict, NotFound, VendorUnreachable
from vrm.agent.outbox.store import FAILED
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.web.vendor_forms import (
    GrantForm,
    record_number,
    unreachable,
    url_problem,
)
from vrm.agent.web.vendor_views import VendorView, vendor_rows, vendor_view
from vrm.web.errors import sentence
from vrm.web.sessions import Session
from vrm.web.site import Site, redirect

CONFIRMED = "yes"
"""The value of the confirmation checkbox on the end and erase pages."""

NOTICES: dict[str, str] = {
    "added": "Asked {name} for a relationship on your terms. Its answer shows here when it comes.",
    "paused": "Paused: {name} is told, and nothing more is sent until you resume.",
    "resumed": "Resumed: {name} is told and gets the current values of what you granted.",
    "ended": "Ended: every grant to {name} is revoked, and {name} is told.",
    "granted": "Granted: {name} gets the current value while the relationship is active.",
    "revoked": "Revoked: {name} is sent a signed revocation.",
    "retried": "Queued again: your agent sends it to {name} now.",
    "accepted": "You accepted the terms of {name}: the agreement is signed by both.",
    "declined": "You declined the terms of {name}, and {name} is told.",
    "export": "Asked {name} for a signed copy of everything it holds on you.",
    "erase": "Asked {name} to erase its record of you. Its signed confirmation shows here.",
}
"""What a page says after an action, by the ``done`` its redirect names."""


def vendor_routes(*, site: Site, agent: PersonalAgent) -> APIRouter:
    """The Vendors list, each vendor's page, and every action on a relationship."""
    router = APIRouter(include_in_schema=False)
    pages = site.pages

    def list_page(
        session: Session,
        *,
        status: int = 200,
        url: str = "",
        add_problem: str | None = None,
        problem: str | None = None,
        done: str = "",
        vendor_id: int | None = None,
    ) -> Response:
        rows = vendor_rows(agent)
        named = next((row.name for row in rows if row.id == vendor_id), None)
        return pages.render(
            "vendors.html",
            status=status,
            session=session,
            current="vendors",
            rows=rows,
            url=url,
            add_problem=add_problem,
            problem=problem,
            notice=None if named is None else _notice(done, named),
        )

    def vendor_page(
        session: Session,
        vendor_id: int | None,
        *,
        status: int = 200,
        done: str = "",
        problem: str | None = None,
        grant: GrantForm | None = None,
    ) -> Response:
        view = _view(vendor_id)
        if view is None:
            return missing(session)
        return pages.render(
            "vendor.html",
            status=status,
            session=session,
            current="vendors",
            view=view,
            notice=_notice(done, view.relationship.vendor.name),
            problem=problem,
            grant=grant or GrantForm(),
        )

    def confirm_page(
        session: Session,
        vendor_id: int | None,
        action: str,
        *,
        status: int = 200,
        problem: str | None = None,
    ) -> Response:
        view = _view(vendor_id)
        if view is None:
            return missing(session)
        return pages.render(
            f"vendor_{action}.html",
            status=status,
            session=session,
            current="vendors",
            view=view,
            problem=problem,
        )

    def missing(session: Session) -> Response:
        return pages.render("vendor_missing.html", status=404, session=session, current="vendors")

    def _view(vendor_id: int | None) -> VendorView | None:
        if vendor_id is None:
            return None
        try:
            return vendor_view(agent, vendor_id)
        except NotFound:
            return None

    async def act(
        session: Session,
        number: str,
        fields: dict[str, str],
        action: Callable[[str], object],
        *,
        done: str,
        grant: GrantForm | None = None,
    ) -> Response:
        """Do ``action`` to the vendor off the event loop, then back to the page it came from.

        A refusal shows that page again with the reason (and the ``grant`` form as it
        was typed); nothing was changed.
        """
        vendor_id = record_number(number)
        if vendor_id is None or not await run_in_threadpool(_exists, agent, vendor_id):
            return missing(session)
        on_list = fields.get("back") == "list"
        try:
            await run_in_threadpool(action, str(vendor_id))
        except (AgentError, ValueError) as exc:
            status = 409 if isinstance(exc, Conflict) else 404 if isinstance(exc, NotFound) else 422
            problem = f"{sentence(str(exc))} Nothing was changed."
            if on_list:
                return await run_in_threadpool(
                    lambda: list_page(session, status=status, problem=problem)
                )
            return await run_in_threadpool(
                lambda: vendor_page(session, vendor_id, status=status, problem=problem, grant=grant)
            )
        if on_list:
            return redirect(f"/vendors?done={done}&vendor={vendor_id}#vendor-{vendor_id}")
        return redirect(f"/vendors/{vendor_id}?done={done}")

    @router.get("/vendors")
    def vendors_page(
        done: str = "",
        vendor: str = "",
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        return list_page(session, done=done, vendor_id=record_number(vendor))

    @router.post("/vendors")
    async def add_vendor(
        request: Request,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        fields = await site.form(request, session)
        url = fields.get("url", "").strip()
        problem, status = url_problem(url), 422
        if problem is None:
            try:
                relationship = await agent.add_vendor(url)
            except VendorUnreachable as exc:
                problem, status = unreachable(url, str(exc)), 502
            except AgentError as exc:
                status = 409 if isinstance(exc, Conflict) else 422
                problem = f"{sentence(str(exc))} Nothing was added."
            else:
                return redirect(f"/vendors/{relationship.id}?done=added")
        return await run_in_threadpool(
            lambda: list_page(session, status=status, url=url, add_problem=problem)
        )

    @router.get("/vendors/{number}")
    def show_vendor(
        number: str,
        done: str = "",
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        return vendor_page(session, record_number(number), done=done)

    def plain_action(name: str, action: Callable[[str], object], done: str) -> None:
        """POST /vendors/{number}/``name``: ``action`` on the vendor, then its page."""

        @router.post(f"/vendors/{{number}}/{name}")
        async def post(
            request: Request,
            number: str,
            session: Session = Depends(site.signed_in),  # noqa: B008
        ) -> Response:
            fields = await site.form(request, session)
            return await act(session, number, fields, action, done=done)

    def confirmed_action(
        name: str, action: Callable[[str], object], done: str, problem: str
    ) -> None:
        """GET /vendors/{number}/``name``: a confirmation page; its POST does ``action``."""

        @router.get(f"/vendors/{{number}}/{name}")
        def page(number: str, session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
            return confirm_page(session, record_number(number), name)

        @router.post(f"/vendors/{{number}}/{name}")
        async def post(
            request: Request,
            number: str,
            session: Session = Depends(site.signed_in),  # noqa: B008
        ) -> Response:
            fields = await site.form(request, session)
            if fields.get("confirm") != CONFIRMED:
                return await run_in_threadpool(
                    lambda: confirm_page(
                        session, record_number(number), name, status=422, problem=problem
                    )
                )
            return await act(session, number, fields, action, done=done)

    plain_action("pause", agent.pause, "paused")
    plain_action("resume", agent.resume, "resumed")
    plain_action("export", agent.request_export, "export")
    confirmed_action(
        "end", agent.end, "ended", "Tick the box to confirm that the relationship should end."
    )
    confirmed_action(
        "erase",
        agent.request_erasure,
        "erase",
        "Tick the box to confirm that the vendor should erase your data.",
    )

    @router.post("/vendors/{number}/grants")
    async def grant(
        request: Request,
        number: str,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        fields = await site.form(request, session)
        today = dt.datetime.fromtimestamp(agent.clock()).date()
        form, until = GrantForm.read(fields, today=today)
        if form.errors:
            return await run_in_threadpool(
                lambda: vendor_page(session, record_number(number), status=422, grant=form)
            )

        def give(reference: str) -> None:
            agent.grant(reference, [form.path], purpose=form.purpose, until=until)

        return await act(session, number, fields, give, done="granted", grant=form)

    @router.post("/vendors/{number}/grants/revoke")
    async def revoke(
        request: Request,
        number: str,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        fields = await site.form(request, session)
        path = fields.get("field", "")
        return await act(
            session, number, fields, lambda ref: agent.revoke(ref, [path]), done="revoked"
        )

    @router.post("/vendors/{number}/deliveries/{delivery}/retry")
    async def retry(
        request: Request,
        number: str,
        delivery: str,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        fields = await site.form(request, session)
        delivery_id = record_number(delivery)

        def send_again(reference: str) -> None:
            failed = agent.deliveries(state=FAILED, vendor=reference, limit=10_000)
            if delivery_id not in {d.id for d in failed}:
                raise Conflict("that message is not a failed delivery to this vendor")
            agent.retry(delivery_id)

        return await act(session, number, fields, send_again, done="retried")

    @router.post("/vendors/{number}/agreements/{agreement}")
    async def answer_terms(
        request: Request,
        number: str,
        agreement: str,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        fields = await site.form(request, session)
        answer = fields.get("answer", "")
        agreement_id = record_number(agreement)

        def answer_alternative(reference: str) -> None:
            if answer not in ("accept", "decline"):
                raise ValueError("choose to accept or to decline the vendor's terms")
            record = agent.agreement(agreement_id) if agreement_id is not None else None
            if record is None or str(record.vendor_id) != reference:
                raise NotFound("these terms are not this vendor's")
            agent.answer_alternative(record.id, accept=answer == "accept")

        done = "accepted" if answer == "accept" else "declined"
        return await act(session, number, fields, answer_alternative, done=done)

    return router


def _exists(agent: PersonalAgent, vendor_id: int) -> bool:
    try:
        agent.vendor(str(vendor_id))
    except NotFound:
        return False
    return True


def _notice(done: str, name: str) -> str | None:
    said = NOTICES.get(done)
    return None if said is None else said.format(name=name)
