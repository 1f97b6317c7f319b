"""The Health pages: records by kind in words, one record, import, export, and presenting.

Records are imported from a FHIR Bundle uploaded as a file or pasted, whole or not at
all: a Bundle that is wrong is refused with what is wrong and where, and nothing is
kept. An export is in the audit log, so it is a POST with the CSRF token. Presenting
chooses records (a checkbox each), a doctor among the active relationships, how long
and why, through :class:`vrm.agent.health.desk.HealthDesk`; each presentation is listed
with its state, the doctor's confirmation of deletion, and a button to withdraw it.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from vrm.agent.api.health_routes import FHIR_JSON, MAX_BUNDLE_BYTES
from vrm.agent.errors import AgentError, NotFound
from vrm.agent.health.desk import HealthDesk
from vrm.agent.health.store import HealthResource
from vrm.agent.personal_agent import PersonalAgent
from vrm.web.forms import CSRF_FIELD, capped_receive, check_csrf
from vrm.web.pages import download
from vrm.web.sessions import Session
from vrm.web.site import Site, redirect

PAGE = "/health-records"
GROUPS = (
    ("Patient", ("patient",)),
    ("Conditions", ("condition",)),
    ("Allergies", ("allergy",)),
    ("Medicines", ("medication", "prescription")),
    ("Immunisations", ("immunisation",)),
    ("Observations", ("observation",)),
)
"""The kinds of records, in the order and words the page shows them; others come last."""
DURATIONS = (
    ("1h", "1 hour"),
    ("1d", "1 day"),
    ("7d", "7 days"),
    ("30d", "30 days"),
    ("90d", "90 days"),
    ("until", "until a date"),
)
RECORD = "record-"
"""Each record's checkbox is named ``record-<number>`` (a form's field is read once)."""


def health_routes(*, site: Site, agent: PersonalAgent) -> APIRouter:
    """GET the Health page and a record; POST import, export, present and withdraw."""
    router = APIRouter(include_in_schema=False)
    pages = site.pages
    desk = HealthDesk(agent)

    def render(session: Session, *, status: int = 200, **context: Any) -> Response:
        held = agent.health_resources()
        context.setdefault("notice", None)
        context.setdefault("import_error", None)
        context.setdefault("pasted", "")
        context.setdefault("present_error", None)
        context.setdefault(
            "chosen", {"records": set(), "vendor": "", "for": "7d", "until": "", "purpose": ""}
        )
        return pages.render(
            "health.html",
            status=status,
            session=session,
            current="health",
            groups=grouped(held),
            held=held,
            doctors=[v for v in agent.vendors() if v.active],
            durations=DURATIONS,
            presentations=desk.presentations(),
            **context,
        )

    async def in_thread(session: Session, status: int, **context: Any) -> Response:
        return await anyio.to_thread.run_sync(partial(render, session, status=status, **context))

    @router.get(PAGE)
    def health_page(
        imported: str = "",
        presented: str = "",
        withdrawn: str = "",
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        return render(session, notice=_notice(imported, presented, withdrawn))

    @router.get(PAGE + "/{number}")
    def record_page(number: str, session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        record = _record(agent, number)
        if record is None:
            return pages.problem(
                status=404, message="There is no such health record.", home=PAGE, session=session
            )
        return pages.render("health_record.html", session=session, current="health", record=record)

    @router.post(PAGE + "/import")
    async def import_bundle(
        request: Request,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        # The token comes in the address, so it is checked before the body is read.
        check_csrf(session, {CSRF_FIELD: request.query_params.get(CSRF_FIELD, "")})
        limit = 3 * MAX_BUNDLE_BYTES
        refusal = f"nothing was imported: the upload is over {limit >> 20} MiB"
        capped = Request(request.scope, receive=capped_receive(request.receive, limit, refusal))
        async with capped.form(max_files=1, max_fields=2, max_part_size=MAX_BUNDLE_BYTES) as form:
            upload, pasted = form.get("bundle_file"), form.get("bundle_text")
            pasted = pasted if isinstance(pasted, str) else ""
            document: bytes | str = pasted
            source = "pasted on the Health page"
            if isinstance(upload, UploadFile) and upload.filename:
                document = await upload.read(MAX_BUNDLE_BYTES + 1)
                source = upload.filename
        if not document or (isinstance(document, str) and not document.strip()):
            problem = "Choose a FHIR Bundle file, or paste one."
            return await in_thread(session, 422, import_error=problem, pasted=pasted)
        if len(document) > MAX_BUNDLE_BYTES:
            problem = f"Nothing was imported: a Bundle of over {MAX_BUNDLE_BYTES >> 20} MiB."
            return await in_thread(session, 413, import_error=problem)
        try:
            result = await anyio.to_thread.run_sync(agent.import_health_bundle, document, source)
        except AgentError as exc:
            problem = f"Nothing was imported: {exc}."
            return await in_thread(session, exc.status, import_error=problem, pasted=pasted)
        return redirect(f"{PAGE}?imported={result.total}")

    @router.post(PAGE + "/export")
    async def export(
        request: Request,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        await site.form(request, session)
        document = await anyio.to_thread.run_sync(
            partial(agent.export_health_bundle, None, to="web")
        )
        stamp = dt.date.fromtimestamp(agent.clock()).isoformat()
        return download(document, media_type=FHIR_JSON, filename=f"health-records-{stamp}.json")

    @router.post(PAGE + "/present")
    async def present(
        request: Request,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        fields = await site.form(request, session)
        ticked = [name.removeprefix(RECORD) for name in fields if name.startswith(RECORD)]
        vendor, duration = fields.get("vendor", ""), fields.get("for", "")
        until, purpose = fields.get("until", "").strip(), fields.get("purpose", "")
        chosen = {
            "records": set(ticked),
            "vendor": vendor,
            "for": duration,
            "until": until,
            "purpose": purpose,
        }
        numbers = [int(n) for n in ticked if n.isascii() and n.isdigit() and len(n) < 12]
        by_date = duration == "until"
        if not vendor:
            problem = "Choose the doctor to present the records to."
            return await in_thread(session, 422, present_error=problem, chosen=chosen)
        try:
            presented = await anyio.to_thread.run_sync(
                partial(
                    desk.present,
                    numbers,
                    vendor,
                    purpose=purpose,
                    duration=None if by_date else duration,
                    until=until if by_date else None,
                )
            )
        except (AgentError, ValueError) as exc:
            status = exc.status if isinstance(exc, AgentError) else 422
            problem = str(exc)[:1].upper() + str(exc)[1:] + "."
            return await in_thread(session, status, present_error=problem, chosen=chosen)
        return redirect(f"{PAGE}?presented={presented.id}#presentations")

    @router.post(PAGE + "/presentations/{number}/withdraw")
    async def withdraw(
        number: int,
        request: Request,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        await site.form(request, session)
        await anyio.to_thread.run_sync(desk.withdraw, number)
        return redirect(f"{PAGE}?withdrawn={number}#presentations")

    return router


def grouped(held: list[HealthResource]) -> list[tuple[str, list[HealthResource]]]:
    """The records by kind, in the page's order and words; kinds without records left out."""
    groups: list[tuple[str, list[HealthResource]]] = []
    placed: set[int] = set()
    for title, kinds in GROUPS:
        found = [record for record in held if record.summary.kind in kinds]
        placed.update(record.id for record in found)
        if found:
            groups.append((title, found))
    others = [record for record in held if record.id not in placed]
    if others:
        groups.append(("Other records", others))
    return groups


def _notice(imported: str, presented: str, withdrawn: str) -> str | None:
    if imported.isdigit():
        return f"Imported {imported} health records."
    if presented.isdigit():
        return f"Presented (presentation {presented}): the doctor gets them encrypted to it."
    if withdrawn.isdigit():
        return f"Withdrew presentation {withdrawn}: the doctor is told to delete the records."
    return None


def _record(agent: PersonalAgent, number: str) -> HealthResource | None:
    if not (number.isascii() and number.isdigit() and len(number) < 12):
        return None
    try:
        return agent.health_resource(int(number))
    except NotFound:
        return None
