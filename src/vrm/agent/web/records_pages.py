"""The Records pages: receipts vendors sent, searched, shown, exported; the decision journal.

Receipts are sealed in the store: a search opens them and looks in memory (as
``PersonalAgent.search_receipts`` does). An export is in the audit log, so it is a
POST with the CSRF token, never a link another page could follow.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from vrm.agent.errors import NotFound
from vrm.agent.payments.desk import PaymentsDesk
from vrm.agent.payments.ledger import PaymentRecord
from vrm.agent.payments.notices import NoticeRecord
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.records.export import MEDIA_TYPES
from vrm.agent.records.receipts import ReceiptRecord
from vrm.web.pages import download
from vrm.web.sessions import Session
from vrm.web.site import Site, redirect

MAX_NOTE = 10_000


def records_routes(*, site: Site, agent: PersonalAgent) -> APIRouter:
    """GET /records (search), GET /records/{n}, POST /records/export, POST /intents/{n}/journal."""
    router = APIRouter(include_in_schema=False)
    pages = site.pages

    @router.get("/records")
    def records_page(
        q: str = "",
        replaced: str = "",
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        query = q.strip()[:200]
        if query:
            shown = agent.search_receipts(query)
        else:
            shown = agent.receipts(include_superseded=replaced == "1")
        return pages.render(
            "records.html",
            session=session,
            current="records",
            receipts=shown,
            query=query,
            replaced=replaced == "1",
            reminders=agent.reminders(),
            item_count=_item_count,
            acknowledgements=_acknowledgements(agent) if not query else [],
        )

    @router.get("/records/{number}")
    def receipt_page(number: str, session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        record = _record(agent, number)
        if record is None:
            return pages.problem(
                status=404, message="There is no such receipt.", home="/records", session=session
            )
        return pages.render(
            "receipt.html",
            session=session,
            current="records",
            record=record,
            seller_vendor=_vendor_name(agent, record.vendor_id),
            line_total=_line_total,
        )

    @router.post("/records/export")
    async def export(
        request: Request,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        fields = await site.form(request, session)
        chosen = fields.get("format", "")
        if chosen not in MEDIA_TYPES:
            raise ValueError("choose CSV or JSON")
        document = await anyio.to_thread.run_sync(partial(agent.export_receipts, chosen, to="web"))
        stamp = dt.date.fromtimestamp(agent.clock()).isoformat()
        return download(
            document, media_type=MEDIA_TYPES[chosen], filename=f"vrm-receipts-{stamp}.{chosen}"
        )

    @router.post("/intents/{number}/journal")
    async def note(
        request: Request,
        number: str,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        fields = await site.form(request, session)
        intent_id = _number(number)
        if intent_id is None:
            raise NotFound("there is no such intent")
        text = fields.get("note", "")
        if len(text) > MAX_NOTE:
            raise ValueError(f"a note is at most {MAX_NOTE:,} characters")
        await run_in_threadpool(agent.set_journal_note, intent_id, text)
        return redirect(f"/intents/{intent_id}?done=noted#journal")

    return router


def _number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) < 12 else None


def _record(agent: PersonalAgent, number: str) -> ReceiptRecord | None:
    receipt_id = _number(number)
    if receipt_id is None:
        return None
    try:
        return agent.receipt(receipt_id)
    except NotFound:
        return None


def _vendor_name(agent: PersonalAgent, vendor_id: int) -> str | None:
    try:
        return agent.vendor(str(vendor_id)).vendor.name
    except NotFound:
        return None


def _line_total(price: str, quantity: int) -> str:
    """An item's price times its quantity, as the receipt's decimal text would write it."""
    return str(Decimal(price) * quantity)


def _acknowledgements(agent: PersonalAgent) -> list[tuple[PaymentRecord, NoticeRecord]]:
    """Paid payments whose payee signed a receipt, newest month first."""
    notices = PaymentsDesk(agent).notices()
    return [
        (payment, notices[payment.id])
        for payment in agent.payments()
        if payment.id in notices and notices[payment.id].receipt is not None
    ]


def _item_count(record: ReceiptRecord) -> int:
    return sum(item.quantity for item in record.receipt.items)
