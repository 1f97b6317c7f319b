"""The Reviews pages: write, list, show (signed), edit, publish, send, withdraw; the feed switch.

The pages live under ``/my-reviews``: ``/reviews`` is the public feed anyone reads
(:mod:`vrm.agent.api.review_feed_routes`). Thin: read the form, call
:class:`vrm.agent.reviews.desk.ReviewDesk`, render or go back to the review's page
with a word on what was done. A form that does not fit is shown again as typed,
each problem beside its field.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from vrm.agent.errors import Conflict, NotFound
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.reviews.desk import ReviewDesk
from vrm.agent.reviews.store import ReviewRecord
from vrm.agent.web.review_form import ITEM_KINDS, ReviewForm, licence_choices
from vrm.protocol.v1.licences import in_words, licence
from vrm.web.sessions import Session
from vrm.web.site import Site, redirect

PAGES = "/my-reviews"
_DONE = {
    "written": "Written and signed.",
    "edited": "Saved as a new version, signed; the vendors that have it are sent it.",
    "public": "In your public feed (while the feed is on).",
    "private": "Out of your public feed.",
    "sent": "Sent: it is on its way to the vendor.",
    "withdrawn": "Withdrawn: out of your feed for good; the vendors that have it are told.",
    "feed-on": "Your feed is on: anyone can read your public reviews at its address.",
    "feed-off": "Your feed is off: its address answers that there is none.",
}


def reviews_routes(*, site: Site, agent: PersonalAgent) -> APIRouter:
    """GET and POST of /my-reviews and its review pages."""
    router = APIRouter(include_in_schema=False)
    pages = site.pages
    desk = ReviewDesk(agent)

    def form_page(
        session: Session, form: ReviewForm, *, record: ReviewRecord | None, status: int = 200
    ) -> Response:
        return pages.render(
            "review_form.html",
            status=status,
            session=session,
            current="reviews",
            form=form,
            record=record,
            kinds=ITEM_KINDS,
            licences=licence_choices(),
        )

    @router.get(PAGES)
    def list_page(done: str = "", session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        return pages.render(
            "reviews.html",
            session=session,
            current="reviews",
            reviews=desk.reviews(),
            feed=desk.feed(),
            notice=_DONE.get(done),
            licence_name=_licence_name,
        )

    @router.get(PAGES + "/new")
    def new_page(session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        return form_page(session, ReviewForm.blank(desk.default_author()), record=None)

    @router.post(PAGES + "/new")
    async def write(request: Request, session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        form = ReviewForm.submitted(await site.form(request, session))
        draft = form.draft()
        if form.errors or draft is None:
            return form_page(session, form, record=None, status=422)
        record = await run_in_threadpool(partial(desk.write, draft, public=form.public))
        return redirect(f"{PAGES}/{record.id}?done=written")

    @router.get(PAGES + "/{number}")
    def review_page(
        number: str,
        done: str = "",
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        record = _record(desk, number)
        names = {r.id: r.vendor.name for r in agent.vendors()}
        sent = {sending.vendor_id for sending in record.sent_to if not sending.withdrawal_id}
        return pages.render(
            "review.html",
            session=session,
            current="reviews",
            record=record,
            notice=_DONE.get(done),
            licence=licence(record.review.license),
            licence_words=in_words(record.review.license, reserved=record.review.reserved),
            vendor_names=names,
            sendable=[r for r in desk.sendable() if r.id not in sent],
            document=record.review.as_json(),
        )

    @router.get(PAGES + "/{number}/edit")
    def edit_page(number: str, session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        record = _changeable(desk, number)
        return form_page(session, ReviewForm.of(record.review, public=record.public), record=record)

    @router.post(PAGES + "/{number}/edit")
    async def edit(
        request: Request,
        number: str,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        fields = await site.form(request, session)
        record = await run_in_threadpool(_changeable, desk, number)
        form = ReviewForm.submitted(fields)
        draft = form.draft()
        if form.errors or draft is None:
            return form_page(session, form, record=record, status=422)
        await run_in_threadpool(partial(desk.edit, record.id, draft, public=form.public))
        return redirect(f"{PAGES}/{record.id}?done=edited")

    async def act(
        request: Request,
        session: Session,
        number: str,
        action: Callable[[int, dict[str, str]], Any],
    ) -> int:
        fields = await site.form(request, session)
        review_id = _number(number)
        await run_in_threadpool(action, review_id, fields)
        return review_id

    @router.post(PAGES + "/{number}/public")
    async def publish(
        request: Request,
        number: str,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        chosen: list[bool] = []

        def set_public(review_id: int, fields: dict[str, str]) -> None:
            chosen.append(fields.get("public") == "on")
            desk.publish(review_id, chosen[0])

        review_id = await act(request, session, number, set_public)
        return redirect(f"{PAGES}/{review_id}?done={'public' if chosen[0] else 'private'}")

    @router.post(PAGES + "/{number}/send")
    async def send(
        request: Request,
        number: str,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        def send_to(review_id: int, fields: dict[str, str]) -> None:
            vendor = fields.get("vendor", "").strip()
            if not vendor.isdigit():
                raise ValueError("choose the vendor to send the review to")
            desk.send(review_id, vendor)

        review_id = await act(request, session, number, send_to)
        return redirect(f"{PAGES}/{review_id}?done=sent")

    @router.get(PAGES + "/{number}/withdraw")
    def withdraw_page(number: str, session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        record = _record(desk, number)
        names = {r.id: r.vendor.name for r in agent.vendors()}
        return pages.render(
            "review_withdraw.html",
            session=session,
            current="reviews",
            record=record,
            told=[names.get(s.vendor_id, f"vendor {s.vendor_id}") for s in record.sent_to],
        )

    @router.post(PAGES + "/{number}/withdraw")
    async def withdraw(
        request: Request,
        number: str,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        review_id = await act(request, session, number, lambda n, _fields: desk.withdraw(n))
        return redirect(f"{PAGES}/{review_id}?done=withdrawn")

    @router.post(PAGES + "/feed")
    async def feed_switch(request: Request, session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        on = (await site.form(request, session)).get("feed") == "on"
        await run_in_threadpool(desk.set_feed, on)
        return redirect(f"{PAGES}?done={'feed-on' if on else 'feed-off'}#feed")

    return router


def _number(text: str) -> int:
    if not (text.isascii() and text.isdigit() and len(text) < 12):
        raise NotFound("there is no such review")
    return int(text)


def _record(desk: ReviewDesk, number: str) -> ReviewRecord:
    return desk.review(_number(number))


def _changeable(desk: ReviewDesk, number: str) -> ReviewRecord:
    record = _record(desk, number)
    if not record.current:
        raise Conflict("this review was withdrawn: it cannot change any more")
    return record


def _licence_name(url: str) -> str:
    return licence(url).name
