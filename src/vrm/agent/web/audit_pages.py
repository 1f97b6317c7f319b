"""The Audit page: the log in words, newest first, and whether its chain is whole."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends
from starlette.responses import Response

from vrm.agent.audit import service as audit
from vrm.agent.audit.described import describe
from vrm.agent.personal_agent import PersonalAgent
from vrm.web.security import secure
from vrm.web.sessions import Session
from vrm.web.site import Site

PAGE_SIZE = 50


def audit_routes(*, site: Site, agent: PersonalAgent) -> APIRouter:
    """GET /audit (filter by group, page back by entry number) and GET /audit.json."""
    router = APIRouter(include_in_schema=False)

    @router.get("/audit")
    def audit_page(
        group: str | None = None,
        before: int | None = None,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        names = {r.id: r.vendor.name for r in agent.vendors()}
        with agent.engine.connect() as connection:
            verdict = audit.verify(connection, agent.sealer)
            groups = audit.groups(connection)
            chosen = group if group in groups else None
            shown = audit.latest(
                connection, agent.sealer, limit=PAGE_SIZE + 1, before=before, group=chosen
            )
        older = shown[PAGE_SIZE - 1].seq if len(shown) > PAGE_SIZE else None
        return site.pages.render(
            "audit.html",
            session=session,
            current="audit",
            verdict=verdict,
            groups=groups,
            group=chosen,
            before=before,
            older=older,
            entries=[
                (entry, describe(entry, names), json.dumps(entry.details, indent=2))
                for entry in shown[:PAGE_SIZE]
            ],
        )

    @router.get("/audit.json")
    def audit_download(session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        entries = agent.audit_entries()
        document = [
            {"seq": e.seq, "at": e.at, "kind": e.kind, "details": e.details} for e in entries
        ]
        response = Response(
            json.dumps(document, indent=2, ensure_ascii=False),
            media_type="application/json",
            headers={"Content-Disposition": 'attachment; filename="vrm-audit.json"'},
        )
        secure(response.headers)
        return response

    return router
