"""The JSON API for the person's records (under ``/api/records``, bearer token).

Receipts vendors sent, searched and exported; reminders of warranties and
renewals; an intent's decision journal and the person's note on it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import Field

from vrm.agent.api.routes import Agent, Request_
from vrm.agent.records.export import MEDIA_TYPES
from vrm.agent.records.journal import MAX_NOTE_CHARS

router = APIRouter(prefix="/api/records")


class NoteIn(Request_):
    """The person's note on an intent: why they chose as they did (empty clears it)."""

    note: Annotated[str, Field(max_length=MAX_NOTE_CHARS)]


@router.get("", tags=["records"])
def list_receipts(agent: Agent, include_superseded: bool = False) -> list[dict[str, Any]]:
    """Every receipt, newest order first (ones a correction replaced only if asked)."""
    found = agent.receipts(include_superseded=include_superseded)
    return [record.as_json() for record in found]


@router.get("/search", tags=["records"])
def search_receipts(
    agent: Agent, q: Annotated[str, Query(max_length=200)] = ""
) -> list[dict[str, Any]]:
    """Receipts whose seller, order number, items, SKUs or note hold ``q`` (any case)."""
    return [record.as_json() for record in agent.search_receipts(q)]


@router.get("/reminders", tags=["records"])
def reminders(agent: Agent) -> list[dict[str, Any]]:
    """Warranties ending within 30 days and subscriptions renewing within 14, soonest first."""
    return [reminder.as_json() for reminder in agent.reminders()]


@router.get(
    "/export",
    tags=["records"],
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
def export_receipts(
    agent: Agent, format: Annotated[str, Query(pattern="^(csv|json)$")] = "csv"
) -> Response:
    """The receipts as CSV (a row per item) or JSON (as received, signed); audited."""
    document = agent.export_receipts(format, to="api")
    return Response(
        document,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="receipts.{format}"'},
    )


@router.get("/journal/{intent}", tags=["records"])
def journal(intent: int, agent: Agent) -> dict[str, Any]:
    """An intent's decision: wanted, offers considered, the one taken, the note, the receipt."""
    return agent.journal(intent).as_json()


@router.put("/journal/{intent}/note", tags=["records"])
def set_note(intent: int, body: NoteIn, agent: Agent) -> dict[str, Any]:
    """Write (or, empty, clear) the person's note on an intent."""
    return agent.set_journal_note(intent, body.note).as_json()


@router.get("/{number}", tags=["records"])
def show_receipt(number: int, agent: Agent) -> dict[str, Any]:
    """One receipt, current or replaced, with the vendor's signed message."""
    record = agent.receipt(number)
    return {**record.as_json(), "signed": record.signed}
