"""The JSON API for intents and offers (under ``/api``, bearer token)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field

from vrm.agent.api.routes import Agent, Request_
from vrm.agent.intents.desk import SORTS, IntentDesk
from vrm.protocol.v1.intents import Intent

router = APIRouter(prefix="/api")


def desk_of(request: Request) -> IntentDesk:
    """The intents desk of this app's agent."""
    desk: IntentDesk = request.app.state.desk
    return desk


Desk = Annotated[IntentDesk, Depends(desk_of)]


class IntentIn(Request_):
    """An intent to publish, at the exchange given or the configured one."""

    exchange: Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=2000)] | None = None
    intent: Intent


@router.get("/intents", tags=["intents"])
def list_intents(desk: Desk) -> list[dict[str, Any]]:
    """Every intent, oldest first."""
    return [record.as_json() for record in desk.intents()]


@router.post("/intents", tags=["intents"], status_code=201)
async def publish_intent(body: IntentIn, desk: Desk, agent: Agent) -> dict[str, Any]:
    """Publish an intent under a new pseudonym."""
    url = body.exchange or agent.config().exchange_url
    if not url:
        raise ValueError("give exchange, or set the exchange_url setting")
    return (await desk.publish(url, body.intent)).as_json()


@router.get("/intents/{number}", tags=["intents"])
def show_intent(number: int, desk: Desk) -> dict[str, Any]:
    """One intent."""
    return desk.intent(number).as_json()


@router.post("/intents/{number}/withdraw", tags=["intents"])
def withdraw_intent(number: int, desk: Desk) -> dict[str, Any]:
    """Withdraw an intent everywhere."""
    return desk.withdraw(number).as_json()


@router.get("/intents/{number}/offers", tags=["intents"])
async def intent_offers(
    number: int,
    desk: Desk,
    sort: Annotated[str, Query(pattern="^(" + "|".join(SORTS) + ")$")] = "total",
    fetch: bool = False,
) -> list[dict[str, Any]]:
    """The intent's offers side by side (``fetch`` asks the exchange for new ones first)."""
    if fetch:
        await desk.fetch_offers(number)
    return [row.as_json() for row in desk.compare(number, sort=sort)]


@router.post("/offers/{number}/accept", tags=["intents"])
async def accept_offer(number: int, desk: Desk) -> dict[str, Any]:
    """Take an offer: a relationship with the seller on the intent's terms, the rest declined."""
    return (await desk.accept(number)).as_json()


@router.post("/offers/{number}/decline", tags=["intents"])
async def decline_offer(number: int, desk: Desk) -> dict[str, Any]:
    """Decline one offer: its seller is told from the intent's pseudonym; the intent stays open."""
    declined = await desk.decline(number)
    return {**declined.offer.as_json(), "seller_told": declined.seller_told}
