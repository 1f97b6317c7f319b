"""The pages of intentcasting: intents the exchanges matched, offers sent, composing an offer.

An offer composed here goes the way the API's does: signed, encrypted to the
intent's pseudonym and posted to its mailbox at the exchange
(:meth:`vrm.vendor.exchanges.Exchanges.offer`). A form that does not read, or
that the endpoint or the exchange refuses, comes back with everything typed and
a message next to each field to correct.
"""

from __future__ import annotations

import time
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import Response

from vrm.vendor.endpoint import VendorEndpoint
from vrm.vendor.errors import ExchangeRefused, IntentClosed, InvalidRequest
from vrm.vendor.intents import OFFERED, OPEN
from vrm.vendor.web.offer_form import OfferForm, blank_form, read_offer, refusal
from vrm.vendor.web.reading import place_said, price_said, short_did
from vrm.web.errors import sentence
from vrm.web.sessions import Session
from vrm.web.site import Site, redirect

INTENTS = "/console/intents"
TAKES_OFFERS = (OPEN, OFFERED)


IntentNumber = Path(ge=1, le=2**63 - 1)
"""An intent's number in a console path: what the store's integer keys can hold."""


def intent_routes(*, site: Site, endpoint: VendorEndpoint) -> APIRouter:
    """GET the intents and offers; GET and POST the compose-offer form of one intent."""
    router = APIRouter(include_in_schema=False)
    pages = site.pages
    intents = endpoint.intents

    @router.get(INTENTS)
    def intents_page(
        sent: int | None = None,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        matched = [
            intent | {"where": place_said(intent["place"]), "asked": price_said(intent["price"])}
            for intent in reversed(intents.intents())
        ]
        offers = [
            offer | {"short": short_did(offer["customer"]) if offer["customer"] else None}
            for offer in reversed(intents.offers())
        ]
        return pages.render(
            "intents.html",
            session=session,
            current="intents",
            exchanges=endpoint.exchanges.status(),
            intents=matched,
            offers=offers,
            takes_offers=TAKES_OFFERS,
            sent=sent,
        )

    def compose(
        session: Session, intent: dict[str, Any], form: OfferForm, *, status: int = 200
    ) -> Response:
        return pages.render(
            "offer.html",
            status=status,
            session=session,
            current="intents",
            intent=intent,
            where=place_said(intent["place"]),
            asked=price_said(intent["price"]),
            form=form,
            open=intent["state"] in TAKES_OFFERS,
            public_url=endpoint.settings.public_url,
        )

    @router.get(INTENTS + "/{intent_id}/offer")
    def offer_page(
        intent_id: int = IntentNumber,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        intent = intents.intent(intent_id)
        return compose(session, intent, blank_form(intent))

    @router.post(INTENTS + "/{intent_id}/offer")
    async def send_offer(
        request: Request,
        intent_id: int = IntentNumber,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        fields = await site.form(request, session)
        intent = await anyio.to_thread.run_sync(intents.intent, intent_id)
        form = read_offer(fields, now=time.time())
        if form.offer is None:
            return compose(session, intent, form, status=422)
        try:
            made = await endpoint.exchanges.offer(intent_id, form.offer)
        except InvalidRequest as exc:
            field, said = refusal(str(exc))
            form.errors[field] = sentence(said)
            return compose(session, intent, form, status=422)
        except IntentClosed as exc:
            form.errors["form"] = sentence(str(exc))
            return compose(session, intent, form, status=409)
        except ExchangeRefused as exc:
            form.errors["form"] = sentence(f"{exc}; nothing was sent: try again later")
            return compose(session, intent, form, status=502)
        return redirect(f"{INTENTS}?sent={made['id']}#offers")

    return router
