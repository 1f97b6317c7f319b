"""The Loyalty pages: memberships as cards, a code to show at the checkout, preferences shared.

Showing a membership makes a fresh presentation each time (audited); its QR code is
an image of its own (``image/svg+xml``, no inline style: the CSP holds), found by a
random ticket kept in memory for the code's lifetime, so the code's text never
appears in a URL or a server log. The checkout page's code is reloaded by
``live.js`` before its proof runs out; without scripts it says when to reload.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from vrm.agent.errors import Conflict, NotFound
from vrm.agent.loyalty.desk import LoyaltyDesk, ShownMembership
from vrm.agent.loyalty.preferences import BRANDS, LOYALTY
from vrm.agent.loyalty.qr import qr_svg
from vrm.agent.personal_agent import PersonalAgent
from vrm.protocol.v1.membership_presentations import CLOCK_SKEW
from vrm.web.errors import sentence
from vrm.web.security import secure
from vrm.web.sessions import Session
from vrm.web.site import Site, redirect

LOYALTY_PAGE = "/loyalty"
REFRESH_MARGIN = 30
"""Seconds before a code runs out that the page fetches a new one."""
SHOWN_FOR = 600
"""Seconds a checkout page goes on making codes: one left open stops after ten minutes."""
_DONE = {"shared": "Saved. Only the vendors ticked see your preferences."}
TICKET = Path(pattern="^[A-Za-z0-9_-]{22}$")


@dataclass
class CodeImages:
    """The codes shown lately, by random ticket, until they run out (memory only)."""

    codes: dict[str, tuple[str, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    most: int = 256

    def keep(self, shown: ShownMembership) -> str:
        """A ticket for the QR image of ``shown``."""
        ticket = secrets.token_urlsafe(16)
        with self.lock:
            now = time.time()
            for old in [t for t, (_, until) in self.codes.items() if until < now]:
                del self.codes[old]
            while len(self.codes) >= self.most:
                del self.codes[next(iter(self.codes))]
            self.codes[ticket] = (shown.text, shown.expires_at + CLOCK_SKEW)
        return ticket

    def text(self, ticket: str) -> str | None:
        """The code's text, while it is good."""
        with self.lock:
            found = self.codes.get(ticket)
        return found[0] if found is not None and found[1] >= time.time() else None


def loyalty_routes(*, site: Site, agent: PersonalAgent) -> APIRouter:
    """GET /loyalty, a membership's checkout page and its code; POST the preferences."""
    router = APIRouter(include_in_schema=False)
    pages = site.pages
    desk = LoyaltyDesk(agent)
    images = CodeImages()

    def loyalty(
        session: Session,
        *,
        status: int = 200,
        done: str | None = None,
        error: str | None = None,
        typed: dict[str, str] | None = None,
    ) -> Response:
        preferences = desk.preferences()
        values = typed or {path: value or "" for path, value in preferences.values.items()}
        return pages.render(
            "loyalty.html",
            status=status,
            session=session,
            current="loyalty",
            memberships=desk.memberships(),
            now=agent.clock(),
            preferences=preferences,
            loyalty_text=values[LOYALTY],
            brands_text=values[BRANDS],
            done=done,
            error=error,
        )

    @router.get(LOYALTY_PAGE)
    def loyalty_page(done: str = "", session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        return loyalty(session, done=_DONE.get(done))

    @router.post(LOYALTY_PAGE + "/preferences")
    async def share(request: Request, session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        fields = await site.form(request, session)
        chosen = [int(name.removeprefix("vendor-")) for name in fields if _vendor_box(name)]
        values = {LOYALTY: fields.get("loyalty", ""), BRANDS: fields.get("brands", "")}
        try:
            await run_in_threadpool(
                lambda: desk.share_preferences(values, chosen, changed_by="web")
            )
        except (ValueError, Conflict) as exc:
            said = sentence(str(exc))
            return await run_in_threadpool(
                lambda: loyalty(session, status=422, error=said, typed=values)
            )
        return redirect(f"{LOYALTY_PAGE}?done=shared#preferences")

    @router.get(LOYALTY_PAGE + "/{number}/checkout")
    def checkout_page(number: str, session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        membership_id = _number(number)
        try:
            shown = desk.present(membership_id, to="web")
        except Conflict as exc:
            return pages.problem(
                status=409, message=sentence(str(exc)), home=LOYALTY_PAGE, session=session
            )
        return pages.render(
            "loyalty_checkout.html",
            session=session,
            current="loyalty",
            **_code(shown, images.keep(shown)),
        )

    @router.get(LOYALTY_PAGE + "/{number}/code")
    def code_fragment(
        number: str,
        since: int = 0,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        membership_id = _number(number)
        if agent.clock() - since > SHOWN_FOR:
            # A page left open makes no more codes (each one is a disclosure in the log).
            stopped = "This page stopped making codes after ten minutes."
            return pages.render("_loyalty_code_done.html", number=membership_id, said=stopped)
        try:
            shown = desk.present(membership_id, to="web")
        except Conflict as exc:
            said = sentence(str(exc))
            return pages.render("_loyalty_code_done.html", number=membership_id, said=said)
        return pages.render(
            "_loyalty_code.html", session=session, **_code(shown, images.keep(shown))
        )

    @router.get(LOYALTY_PAGE + "/codes/{ticket}.svg")
    def code_image(ticket: str = TICKET, _session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        text = images.text(ticket)
        if text is None:
            raise NotFound("this code has run out: show the membership again")
        response = Response(qr_svg(text), media_type="image/svg+xml")
        secure(response.headers)
        return response

    return router


def _code(shown: ShownMembership, ticket: str) -> dict[str, Any]:
    lifetime = shown.expires_at - shown.issued_at
    return {
        "shown": shown,
        "membership": shown.membership,
        "ticket": ticket,
        "refresh_ms": max(lifetime - REFRESH_MARGIN, 10) * 1000,
    }


def _vendor_box(name: str) -> bool:
    number = name.removeprefix("vendor-")
    return name.startswith("vendor-") and number.isascii() and number.isdigit() and len(number) < 12


def _number(text: str) -> int:
    if text.isascii() and text.isdigit() and len(text) < 12:
        return int(text)
    raise NotFound("there is no such membership")
