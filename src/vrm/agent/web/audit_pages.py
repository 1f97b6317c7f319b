"""The Audit page: the log in words, newest first, and whether its chain is whole."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from fastapi import APIRouter, Depends
from sqlalchemy import Connection
from starlette.responses import Response

from vrm.agent.audit import service as audit
from vrm.agent.audit.described import describe
from vrm.agent.personal_agent import PersonalAgent
from vrm.web.pages import download
from vrm.web.sessions import Session
from vrm.web.site import Site

PAGE_SIZE = 50
RECHECK_AFTER = 60.0
"""Seconds a verdict on an unchanged log is shown again before the chain is checked anew."""


@dataclass
class _Checked:
    """The last verdict on the chain, the log's newest entry then, and when it was made."""

    newest: tuple[int, bytes] | None
    verdict: audit.AuditVerdict
    at: float


def audit_routes(*, site: Site, agent: PersonalAgent) -> APIRouter:
    """GET /audit (filter by group, page back by entry number) and GET /audit.json."""
    router = APIRouter(include_in_schema=False)
    last: list[_Checked] = []

    def verdict_on(connection: Connection) -> _Checked:
        # Checking reads every entry (16 µs each): paging through a long log reuses the
        # verdict while no entry was added, for at most RECHECK_AFTER seconds.
        newest = audit.newest(connection)
        now = time.monotonic()
        if last and last[0].newest == newest and now - last[0].at < RECHECK_AFTER:
            return last[0]
        checked = _Checked(newest, audit.verify(connection, agent.sealer), now)
        last[:] = [checked]
        return checked

    @router.get("/audit")
    def audit_page(
        group: str | None = None,
        before: str = "",
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        names = {r.id: r.vendor.name for r in agent.vendors()}
        numeric = before.isascii() and before.isdigit() and len(before) < 16
        older_than = int(before) if numeric else None
        with agent.engine.connect() as connection:
            checked = verdict_on(connection)
            verdict = checked.verdict
            groups = audit.groups(connection)
            chosen = group if group in groups else None
            shown = audit.latest(
                connection, agent.sealer, limit=PAGE_SIZE + 1, before=older_than, group=chosen
            )
        older = shown[PAGE_SIZE - 1].seq if len(shown) > PAGE_SIZE else None
        return site.pages.render(
            "audit.html",
            session=session,
            current="audit",
            verdict=verdict,
            groups=groups,
            group=chosen,
            before=older_than,
            older=older,
            checked_seconds_ago=time.monotonic() - checked.at,
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
        return download(
            json.dumps(document, indent=2, ensure_ascii=False),
            media_type="application/json",
            filename="vrm-audit.json",
        )

    return router
