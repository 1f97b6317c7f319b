"""The Intents pages: say what you want to the market, then compare and answer the offers.

``GET /intents`` lists the intents and holds the compose form; ``POST /intents``
publishes one. ``GET /intents/{n}`` shows an intent and its offers side by side
(``?sort=total|price|delivery|received``), with Accept and Decline on each, and
``GET /intents/{n}/offers`` the same table alone, for the page to refresh it.
Whatever goes wrong comes back as the page with a message, never as a traceback.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from vrm.agent.errors import AgentError, Conflict, NotFound, VendorUnreachable
from vrm.agent.intents.desk import IntentDesk
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.web.intent_form import (
    CURRENCIES,
    LIFETIME_DAYS,
    ComposeForm,
    category_groups,
    compose_intent,
)
from vrm.agent.web.intent_views import SORT_NAMES, intent_rows, intent_view, sort_of
from vrm.terms import library
from vrm.web.sessions import Session
from vrm.web.site import Site, redirect

LIVE_EVERY_MS = 15_000
"""How often an open intent's page refreshes its offers (the agent fetches every 15 s)."""

NOTICES: dict[str, Callable[[int], str]] = {
    "published": lambda _: "Published under a pseudonym of its own. Offers will appear below.",
    "withdrawn": lambda _: "Withdrawn: the exchange tells the vendors it is no longer wanted.",
    "fetched": lambda new: (
        f"{new} new offer{'s' if new != 1 else ''} arrived." if new else "No new offers yet."
    ),
    "accepted": lambda _: "Offer accepted. The other offers were declined, the intent closed.",
    "declined": lambda _: "Offer declined: the seller is told, and learns nothing about you.",
    "noted": lambda _: "Your note is kept with this intent, its offers and its receipt.",
    "untold": lambda _: (
        "Offer declined. The seller's site could not be reached to tell it; the offer lapses "
        "at its end date anyway."
    ),
}
"""What the page says after an action, by the ``done`` its redirect names."""


def intent_routes(*, site: Site, agent: PersonalAgent, desk: IntentDesk) -> APIRouter:
    """The Intents list and compose form, each intent's page, and the actions on offers."""
    router = APIRouter(include_in_schema=False)
    pages = site.pages

    def list_page(
        session: Session, form: ComposeForm | None = None, *, status: int = 200
    ) -> Response:
        now = agent.clock()
        today = dt.datetime.fromtimestamp(now).date()
        if form is None:
            form = ComposeForm.blank(
                exchange_url=agent.config().exchange_url,
                terms=agent.terms_settings().default,
                today=today,
            )
        return pages.render(
            "intents.html",
            status=status,
            session=session,
            current="intents",
            rows=intent_rows(desk, now=now),
            form=form,
            groups=category_groups(),
            agreements=library().agreements,
            additional=library().terms,
            currencies=CURRENCIES,
            today=today.isoformat(),
            last_day=(today + dt.timedelta(days=LIFETIME_DAYS)).isoformat(),
        )

    def intent_page(
        session: Session,
        number: int | None,
        *,
        sort: str | None = None,
        notice: str | None = None,
        problem: str | None = None,
        status: int = 200,
        template: str = "intent.html",
    ) -> Response:
        context: dict[str, Any] = {"session": session, "current": "intents"}
        try:
            view = intent_view(agent, desk, _known(number), sort=sort or "", now=agent.clock())
        except NotFound:
            return pages.render("intent_missing.html", status=404, number=number, **context)
        if template == "intent.html":
            context["journal"] = agent.journal(view.record.id)
        return pages.render(
            template,
            status=status,
            view=view,
            sorts=SORT_NAMES,
            notice=notice,
            problem=problem,
            live=view.live,
            live_every=LIVE_EVERY_MS,
            **context,
        )

    @router.get("/intents")
    def intents_page(session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        return list_page(session)

    @router.post("/intents")
    async def publish(
        request: Request,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        fields = await site.form(request, session)
        composed = compose_intent(fields, now=agent.clock())
        if composed.intent is None:
            return await run_in_threadpool(list_page, session, composed.form, status=422)
        try:
            record = await desk.publish(composed.exchange, composed.intent)
        except AgentError as exc:
            composed.form.errors["exchange"] = (
                f"The exchange did not answer as an exchange does ({exc}). Check its address, "
                "or try again later. Nothing was published."
            )
            status = 502 if isinstance(exc, VendorUnreachable) else 409
            return await run_in_threadpool(list_page, session, composed.form, status=status)
        return redirect(f"/intents/{record.id}?done=published")

    @router.get("/intents/{number}")
    def show_intent(
        number: str,
        sort: str = "",
        done: str = "",
        new: str = "",
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        notice = NOTICES[done](_number(new) or 0) if done in NOTICES else None
        return intent_page(session, _number(number), sort=sort, notice=notice)

    @router.get("/intents/{number}/offers")
    def offers_fragment(
        number: str,
        sort: str = "",
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        return intent_page(session, _number(number), sort=sort, template="_intent_offers.html")

    async def act(
        request: Request,
        session: Session,
        number: str,
        action: Callable[[int], Awaitable[str | tuple[str, int]]],
        *,
        reaching: str,
    ) -> Response:
        """Do ``action`` on the intent; back to its page saying what was done, or why not.

        ``action`` gives the ``done`` of the notice, with a count for "fetched".
        """
        fields = await site.form(request, session)
        intent_id = _number(number)
        try:
            done = await action(_known(intent_id))
        except AgentError as exc:
            return await again(session, intent_id, fields, exc, reaching=reaching)
        if isinstance(done, tuple):
            return redirect(_back(intent_id, fields, done[0], new=done[1]))
        return redirect(_back(intent_id, fields, done))

    @router.post("/intents/{number}/withdraw")
    async def withdraw(
        request: Request,
        number: str,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        async def withdrawn(intent_id: int) -> str:
            await run_in_threadpool(desk.withdraw, intent_id)
            return "withdrawn"

        return await act(request, session, number, withdrawn, reaching="the exchange")

    @router.post("/intents/{number}/fetch")
    async def fetch(
        request: Request,
        number: str,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        async def fetched(intent_id: int) -> tuple[str, int]:
            return "fetched", len(await desk.fetch_offers(intent_id))

        return await act(request, session, number, fetched, reaching="the exchange")

    @router.post("/intents/{number}/offers/{offer}/accept")
    async def accept(
        request: Request,
        number: str,
        offer: str,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        async def accepted(intent_id: int) -> str:
            await desk.accept(await offer_of(intent_id, _number(offer)))
            return "accepted"

        return await act(request, session, number, accepted, reaching="the seller's site")

    @router.post("/intents/{number}/offers/{offer}/decline")
    async def decline_offer(
        request: Request,
        number: str,
        offer: str,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        async def declined(intent_id: int) -> str:
            answer = await desk.decline(await offer_of(intent_id, _number(offer)))
            return "declined" if answer.seller_told else "untold"

        return await act(request, session, number, declined, reaching="the seller's site")

    async def offer_of(intent_id: int | None, offer_id: int | None) -> int:
        """The offer's number, once it is known to be one of the intent's (the URL names both).

        Raises:
            NotFound: it is not.
        """
        offers = await run_in_threadpool(desk.compare, _known(intent_id))
        if offer_id is None or offer_id not in {row.offer.id for row in offers}:
            raise NotFound(f"intent {intent_id} has no offer {offer_id}")
        return offer_id

    async def again(
        session: Session,
        intent_id: int | None,
        fields: dict[str, str],
        exc: AgentError,
        *,
        reaching: str,
    ) -> Response:
        """The intent's page again, saying why the action was not done."""
        status, problem = _problem(exc, reaching)
        return await run_in_threadpool(
            lambda: intent_page(
                session, intent_id, sort=fields.get("sort"), problem=problem, status=status
            )
        )

    return router


def _number(text: str) -> int | None:
    """A number from a URL, or None when it is not one."""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None


def _known(intent_id: int | None) -> int:
    """The intent's number; NotFound when the URL did not hold one."""
    if intent_id is None:
        raise NotFound("there is no such intent")
    return intent_id


def _back(intent_id: int | None, fields: dict[str, str], done: str, **extra: int) -> str:
    """The intent's page, sorted as it was, saying what was ``done``."""
    query = urlencode({"sort": sort_of(fields.get("sort")), "done": done, **extra})
    return f"/intents/{intent_id}?{query}"


def _problem(exc: AgentError, reaching: str) -> tuple[int, str]:
    """The status and the words for an action that could not be done."""
    if isinstance(exc, NotFound):
        return 404, f"Not found: {exc}."
    if isinstance(exc, VendorUnreachable):
        return 502, f"Could not reach {reaching} ({exc}). Nothing was changed; try again later."
    if isinstance(exc, Conflict):
        return 409, f"Not done: {exc}."
    return 400, f"Not done: {exc}."
