"""The Settings page: the agent's settings, a backup, a restore, the API token.

A backup downloads as one encrypted file. A restore is uploaded with the
backup's passphrase, checked, and staged: the agent makes it when it next starts
(it cannot swap the database it is running on). The API token is shown only when
asked for, and can be replaced; the old one stops opening the API at once.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import Response

from vrm.agent.backup import NotABackup, backup_bytes, pending_restore, stage_restore
from vrm.agent.config import AgentConfig
from vrm.agent.keystore import issue_token
from vrm.agent.personal_agent import PersonalAgent
from vrm.vault import WrongPassphrase
from vrm.web.forms import CSRF_FIELD, capped_receive, check_csrf
from vrm.web.pages import download
from vrm.web.sessions import Session
from vrm.web.site import Site, redirect

DAY = 24 * 3600.0
MAX_BACKUP_BYTES = 1024 * 1024 * 1024
TEXT_SETTINGS = ("public_url", "exchange_url")
DAY_SETTINGS = {"delivery_max_age": 29, "answer_deadline": 366}
"""The settings given in days, and the most days each takes."""
SWITCHES = ("allow_loopback", "allow_private")


def settings_routes(*, site: Site, agent: PersonalAgent, database: Path) -> APIRouter:
    """GET and POST /settings, GET /settings/backup, POST /settings/restore and /settings/token."""
    router = APIRouter(include_in_schema=False)

    def render(session: Session, request: Request, **context: Any) -> Response:
        config = agent.config()
        context.setdefault("values", _form_values(config))
        context.setdefault("errors", {})
        context.setdefault("saved", request.query_params.get("saved") == "1")
        context.setdefault("token", None)
        context.setdefault("restore_error", None)
        return site.pages.render(
            "settings.html",
            session=session,
            current="settings",
            restore_waiting=pending_restore(database).exists(),
            **context,
        )

    @router.get("/settings")
    def settings_page(
        request: Request,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        return render(session, request)

    async def page(session: Session, request: Request, status: int, **context: Any) -> Response:
        """The page again (its reads off the event loop), answered with ``status``."""
        return _status(await run_in_threadpool(lambda: render(session, request, **context)), status)

    @router.post("/settings")
    async def save_settings(
        request: Request,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        fields = await site.form(request, session)
        values = {name: fields.get(name, "").strip() for name in (*TEXT_SETTINGS, *DAY_SETTINGS)}
        values.update({name: "true" if fields.get(name) else "false" for name in SWITCHES})
        config, errors = _read_settings(await run_in_threadpool(agent.config), values)
        if errors:
            return await page(session, request, 422, values=values, errors=errors)
        await run_in_threadpool(agent.save_config, config)
        return redirect("/settings?saved=1")

    @router.get("/settings/backup")
    async def download_backup(session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        copied = await anyio.to_thread.run_sync(backup_bytes, database)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        return download(
            copied, media_type="application/vnd.sqlite3", filename=f"vrm-backup-{stamp}.db"
        )

    @router.post("/settings/restore")
    async def restore(
        request: Request,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        # The upload's CSRF token comes in the URL, so it is checked before the body is read.
        check_csrf(session, {CSRF_FIELD: request.query_params.get(CSRF_FIELD, "")})
        refusal = f"the file is larger than any backup of an agent ({MAX_BACKUP_BYTES >> 30} GiB)"
        capped = Request(
            request.scope, receive=capped_receive(request.receive, MAX_BACKUP_BYTES, refusal)
        )
        async with capped.form(max_files=1, max_fields=2, max_part_size=4096) as form:
            upload = form.get("backup")
            passphrase = form.get("passphrase")
            if not isinstance(upload, UploadFile) or not isinstance(passphrase, str):
                problem = "Choose the backup file to restore."
                return await page(session, request, 422, restore_error=problem)
            try:
                await run_in_threadpool(stage_restore, database, passphrase, upload.file)
            except NotABackup:
                problem = "That file is not a backup of a vrm agent."
                return await page(session, request, 422, restore_error=problem)
            except WrongPassphrase:
                problem = "That passphrase does not open the backup."
                return await page(session, request, 422, restore_error=problem)
        return redirect("/settings#restore")

    @router.post("/settings/token")
    async def token(
        request: Request,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        fields = await site.form(request, session)
        if fields.get("action") == "replace":
            request.app.state.api_token = await anyio.to_thread.run_sync(
                issue_token, agent.engine, agent.sealer
            )
        return await page(session, request, 200, token=request.app.state.api_token)

    return router


def _status(response: Response, status: int) -> Response:
    response.status_code = status
    return response


def _form_values(config: AgentConfig) -> dict[str, str]:
    values = {name: getattr(config, name) or "" for name in TEXT_SETTINGS}
    values.update({name: f"{getattr(config, name) / DAY:g}" for name in DAY_SETTINGS})
    values.update({name: "true" if getattr(config, name) else "false" for name in SWITCHES})
    return values


def _read_settings(
    config: AgentConfig, values: dict[str, str]
) -> tuple[AgentConfig, dict[str, str]]:
    """``config`` with the form's values, and a message per value that does not fit."""
    errors: dict[str, str] = {}
    for name, value in values.items():
        try:
            if name in DAY_SETTINGS:
                value = f"{float(value) * DAY:.0f}" if value else value
            config = config.with_value(name, value)
        except ValueError as exc:
            errors[name] = _said(name, exc)
    return config, errors


def _said(name: str, exc: ValueError) -> str:
    if name in DAY_SETTINGS:
        return f"Give a number of days, more than 0 and at most {DAY_SETTINGS[name]}."
    message = str(exc).removeprefix(f"{name}: ")
    if "pattern" in message or "web address" in message:
        return "Give a URL starting with http:// or https://."
    return message[0].upper() + message[1:] + "."
