"""The Profile pages: every field with its value and grants, edits, history, vCard, change once.

Saving a field writes its new version and, in the same transaction, the signed
``profile.update`` for every vendor granted it; the person is then shown that
change's page, where each vendor's delivery is followed as it happens (the
region reloads its fragment through ``/static/live.js``; without scripts, the
page shows the state it was loaded in and a link to look again).
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vrm.agent.errors import NotFound
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.profile.fields import InvalidField, check_path
from vrm.agent.profile.vcard import MAX_VCARD_BYTES
from vrm.agent.propagation import propagation
from vrm.agent.web.profile_view import (
    ADDABLE,
    ADDRESS_PARTS,
    FieldProblem,
    address_from,
    address_problems,
    changed_by,
    delivery_rows,
    field_name,
    new_path,
    profile_groups,
    said,
    value_lines,
)
from vrm.web.pages import download
from vrm.web.sessions import Session
from vrm.web.site import Site, redirect

WEB = "web"
"""Who the history says made a change on these pages."""
LIVE_EVERY_MS = 700
"""How often a change's page looks at its deliveries again while some are on their way."""


def profile_routes(*, site: Site, agent: PersonalAgent) -> APIRouter:
    """The Profile page, its forms, a field's history, and a change's deliveries."""
    router = APIRouter(include_in_schema=False)
    pages = site.pages

    def render_profile(session: Session, *, status: int = 200, **context: Any) -> Response:
        adding = context.pop("adding", None)
        context.setdefault("problem", None)
        context.setdefault("add_error", None)
        context.setdefault("add_kind", "email")
        context.setdefault("add_label", "")
        context.setdefault("imported", None)
        context.setdefault("vcard_error", None)
        context.setdefault("vcard_text", "")
        return pages.render(
            "profile.html",
            status=status,
            session=session,
            current="profile",
            groups=profile_groups(agent, adding=adding),
            adding=adding,
            addable=ADDABLE,
            address_parts=ADDRESS_PARTS,
            **context,
        )

    def missing(session: Session, what: str) -> Response:
        return pages.render(
            "profile_missing.html", status=404, session=session, current="profile", what=what
        )

    async def in_thread(session: Session, status: int, **context: Any) -> Response:
        return await anyio.to_thread.run_sync(
            partial(render_profile, session, status=status, **context)
        )

    @router.get("/profile")
    def profile_page(
        kind: str | None = None,
        label: str | None = None,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        if kind is None and label is None:
            return render_profile(session)
        try:
            adding = new_path(kind or "", label or "")
        except InvalidField as exc:
            return render_profile(
                session,
                status=422,
                add_error=str(exc),
                add_kind=kind or "",
                add_label=label or "",
            )
        return render_profile(session, adding=adding)

    @router.post("/profile.vcf")
    async def download_vcard(
        request: Request,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        # A POST with the CSRF token: an export is in the audit log, so no other page
        # (another port of this host is same-site) may cause one with a link.
        await site.form(request, session)
        document, _ = await anyio.to_thread.run_sync(
            partial(agent.export_profile, format="vcard", to=WEB)
        )
        return download(document, media_type="text/vcard; charset=utf-8", filename="profile.vcf")

    @router.post("/profile/import")
    async def import_vcard(
        request: Request,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        # URL-encoding can triple a card's size on the way.
        fields = await site.form(request, session, limit=3 * MAX_VCARD_BYTES + 4096)
        card = fields.get("vcard", "")
        if not card.strip():
            problem = "Paste the text of a vCard (it starts with BEGIN:VCARD)."
            return await in_thread(session, 422, vcard_error=problem, vcard_text=card)
        if len(card.encode()) > MAX_VCARD_BYTES:
            kib = MAX_VCARD_BYTES // 1024
            problem = f"Nothing was imported: a vCard of over {kib} KiB is not a profile."
            return await in_thread(session, 413, vcard_error=problem, vcard_text=card)
        try:
            imported = await anyio.to_thread.run_sync(_import, agent, card)
        except InvalidField as exc:
            problem = f"Nothing was imported: {exc}."
            return await in_thread(session, 422, vcard_error=problem, vcard_text=card)
        return await in_thread(session, 200, imported=imported)

    @router.post("/profile/{path}")
    async def save_field(
        path: str,
        request: Request,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        fields = await site.form(request, session)
        try:
            check_path(path)
        except InvalidField:
            return missing(session, "That is not a field of your profile.")
        if path.startswith("address."):
            value: Any = address_from(fields)
            parts = address_problems(value)
            if parts:
                problem = FieldProblem(path, "Correct the parts marked below.", fields, parts)
                return await in_thread(session, 422, problem=problem, adding=path)
        else:
            value = fields.get("value", "")
        try:
            written = await anyio.to_thread.run_sync(
                partial(agent.set_field, path, value, changed_by=WEB)
            )
        except InvalidField as exc:
            typed = fields if isinstance(value, dict) else value
            problem = FieldProblem(path, said(path, exc), typed)
            return await in_thread(session, 422, problem=problem, adding=path)
        return redirect(f"/profile/{path}/changes/{written.version}")

    @router.post("/profile/{path}/clear")
    async def clear_field(
        path: str,
        request: Request,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        await site.form(request, session)
        try:
            check_path(path)
            written = await anyio.to_thread.run_sync(
                partial(agent.clear_field, path, changed_by=WEB)
            )
        except InvalidField:
            return missing(session, "That field has no value to clear.")
        return redirect(f"/profile/{path}/changes/{written.version}")

    @router.get("/profile/{path}/history")
    def history(path: str, session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        try:
            versions = agent.field_history(path)
        except InvalidField:
            return missing(session, "That is not a field of your profile.")
        return pages.render(
            "profile_history.html",
            session=session,
            current="profile",
            path=path,
            name=field_name(path),
            versions=[(v, value_lines(v.value), changed_by(v.changed_by)) for v in versions],
        )

    @router.get("/profile/{path}/changes/{version}")
    def change_page(
        path: str,
        version: str,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        context = _change(agent, path, version)
        if context is None:
            return missing(session, "Your profile has no such change.")
        return pages.render(
            "profile_change.html",
            session=session,
            current="profile",
            live_every=LIVE_EVERY_MS,
            **context,
        )

    @router.get("/profile/{path}/changes/{version}/deliveries")
    def change_deliveries(
        path: str,
        version: str,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        context = _change(agent, path, version)
        if context is None:
            return missing(session, "Your profile has no such change.")
        return pages.render("_profile_deliveries.html", session=session, **context)

    return router


def _import(agent: PersonalAgent, card: str) -> tuple[dict[str, int], list[str]]:
    """Import a vCard: the version each field got (to link its change), and what was skipped.

    Raises:
        InvalidField: the text is not a readable vCard.
    """
    result = agent.import_vcard(card, changed_by=f"{WEB} vcard import")
    versions = {path: agent.field_history(path)[-1].version for path in sorted(result.fields)}
    return versions, result.skipped


def _change(agent: PersonalAgent, path: str, version: str) -> dict[str, Any] | None:
    """What a change's page and its fragment show; None when there is no such change."""
    if not (version.isascii() and version.isdigit()) or len(version) > 9:
        return None
    today = dt.datetime.fromtimestamp(agent.clock()).date()
    try:
        with agent.engine.connect() as connection:
            went = propagation(
                connection, agent.sealer, path=path, version=int(version), today=today
            )
    except (InvalidField, NotFound):
        return None
    return {
        "path": path,
        "name": field_name(path),
        "change": went.change,
        "lines": value_lines(went.change.value),
        "by": changed_by(went.change.changed_by),
        "rows": delivery_rows(went),
        "held": went.held,
        "settled": went.settled,
        "page_url": f"/profile/{path}/changes/{version}",
    }
