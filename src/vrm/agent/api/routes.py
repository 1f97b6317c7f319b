"""The JSON API: every action of the ``vrm`` command, under ``/api``, behind a bearer token.

Handlers are plain functions (FastAPI runs them in its thread pool), because
the agent's actions are short SQLite transactions; adding a vendor is the one
that waits on the network, and is async.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from vrm.agent.backup import backup_bytes
from vrm.agent.outbox.store import STATES
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.profile.vcard import MAX_VCARD_BYTES

router = APIRouter(prefix="/api")


class Request_(BaseModel):
    """Base of request bodies: unknown members are refused."""

    model_config = ConfigDict(extra="forbid")


class FieldValueIn(Request_):
    """A new value for a profile field (an address is a schema.org PostalAddress object)."""

    value: Any


class VendorIn(Request_):
    """A vendor to relate with, by the URL of its site or endpoint."""

    url: Annotated[str, Field(min_length=1, max_length=2000)]


class GrantIn(Request_):
    """Fields to grant to a vendor."""

    vendor: Annotated[str, Field(min_length=1, max_length=200)]
    fields: Annotated[list[str], Field(min_length=1, max_length=64)]
    purpose: Annotated[str, Field(min_length=1, max_length=1024)]
    until: dt.date | None = None


class RevokeIn(Request_):
    """Fields to take back from a vendor."""

    vendor: Annotated[str, Field(min_length=1, max_length=200)]
    fields: Annotated[list[str], Field(min_length=1, max_length=64)]


class SettingIn(Request_):
    """A setting's new value, in its text form."""

    value: str


def agent_of(request: Request) -> PersonalAgent:
    """The agent this app serves."""
    agent: PersonalAgent = request.app.state.agent
    return agent


Agent = Annotated[PersonalAgent, Depends(agent_of)]


@router.get("/profile", tags=["profile"])
def get_profile(agent: Agent) -> dict[str, Any]:
    """Every field that has a value, by path."""
    return agent.profile()


@router.put("/profile/{path}", tags=["profile"])
def put_field(path: str, body: FieldValueIn, agent: Agent) -> dict[str, Any]:
    """Set a field; every vendor granted it is sent the new value."""
    written = agent.set_field(path, body.value, changed_by="api")
    return {"field": written.path, "version": written.version, "value": written.value}


@router.delete("/profile/{path}", tags=["profile"])
def delete_field(path: str, agent: Agent) -> dict[str, Any]:
    """Clear a field (its history is kept); vendors granted it are told."""
    written = agent.clear_field(path, changed_by="api")
    return {"field": written.path, "version": written.version, "value": None}


@router.get(
    "/profile.vcf",
    tags=["profile"],
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/vcard": {}}}},
)
def export_vcard(agent: Agent) -> PlainTextResponse:
    """The profile as a vCard 4, in clear (the export is recorded in the audit log)."""
    document, _ = agent.export_profile(format="vcard", to="api")
    return PlainTextResponse(document, media_type="text/vcard; charset=utf-8")


@router.post("/profile.vcf", tags=["profile"])
async def import_vcard(request: Request, agent: Agent) -> dict[str, Any]:
    """Set fields from a vCard (versions 3 and 4) sent as the request body."""
    body = await request.body()
    if len(body) > MAX_VCARD_BYTES:
        raise ValueError(f"a vCard of more than {MAX_VCARD_BYTES} bytes is not a profile")
    try:
        card = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError("the vCard is not UTF-8 text") from exc
    result = await run_in_threadpool(agent.import_vcard, card, changed_by="api vcard import")
    return {"imported": sorted(result.fields), "skipped": result.skipped}


@router.get("/profile/{path}/history", tags=["profile"])
def field_history(path: str, agent: Agent) -> list[dict[str, Any]]:
    """Every version of a field, oldest first."""
    return [
        {"version": v.version, "value": v.value, "changed_at": v.changed_at, "by": v.changed_by}
        for v in agent.field_history(path)
    ]


@router.get("/vendors", tags=["vendors"])
def list_vendors(agent: Agent) -> list[dict[str, Any]]:
    """Every relationship with both r-buttons and delivery counts."""
    counts = agent.delivery_counts()
    return [{**rel.as_json(), "deliveries": counts.get(rel.id, {})} for rel in agent.vendors()]


@router.post("/vendors", tags=["vendors"], status_code=201)
async def add_vendor(body: VendorIn, agent: Agent) -> dict[str, Any]:
    """Discover the vendor, make a pairwise DID for it, and send a relationship request."""
    return (await agent.add_vendor(body.url)).as_json()


@router.get("/vendors/{vendor}", tags=["vendors"])
def show_vendor(vendor: str, agent: Agent) -> dict[str, Any]:
    """One relationship with its agreements, data requests, grants and latest deliveries."""
    relationship = agent.vendor(vendor)
    now = agent.clock()
    return {
        **relationship.as_json(),
        "agreements": [record.as_json() for record in agent.agreements(str(relationship.id))],
        "data_requests": [r.as_json(now) for r in agent.data_requests(str(relationship.id))],
        "grants": [grant.as_json() for _, grant in agent.grants(str(relationship.id))],
        "deliveries": [
            d.as_json() for d in agent.deliveries(vendor=str(relationship.id), limit=20)
        ],
    }


@router.post("/vendors/{vendor}/pause", tags=["vendors"])
def pause_vendor(vendor: str, agent: Agent) -> dict[str, Any]:
    """Pause: nothing more is sent until resumed; the vendor is told."""
    return agent.pause(vendor).as_json()


@router.post("/vendors/{vendor}/resume", tags=["vendors"])
def resume_vendor(vendor: str, agent: Agent) -> dict[str, Any]:
    """Resume: the vendor is told and gets the current values of its grants."""
    return agent.resume(vendor).as_json()


@router.post("/vendors/{vendor}/end", tags=["vendors"])
def end_vendor(vendor: str, agent: Agent) -> dict[str, Any]:
    """End the relationship: every grant is revoked and the vendor is told."""
    return agent.end(vendor).as_json()


@router.get("/grants", tags=["grants"])
def list_grants(agent: Agent, vendor: str | None = None) -> list[dict[str, Any]]:
    """Every grant (of one vendor with ``?vendor=``), revoked ones too."""
    return [
        {**grant.as_json(), "vendor": relationship.vendor.name}
        for relationship, grant in agent.grants(vendor)
    ]


@router.post("/grants", tags=["grants"], status_code=201)
def add_grants(body: GrantIn, agent: Agent) -> list[dict[str, Any]]:
    """Grant fields to a vendor; their current values are sent."""
    granted = agent.grant(body.vendor, body.fields, purpose=body.purpose, until=body.until)
    return [grant.as_json() for grant in granted]


@router.post("/grants/revoke", tags=["grants"])
def revoke_grants(body: RevokeIn, agent: Agent) -> list[dict[str, Any]]:
    """Revoke fields from a vendor; it is sent a signed revocation."""
    return [grant.as_json() for grant in agent.revoke(body.vendor, body.fields)]


@router.get("/deliveries", tags=["deliveries"])
def list_deliveries(
    agent: Agent,
    state: Annotated[str | None, Query(pattern="^(" + "|".join(STATES) + ")$")] = None,
    vendor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
) -> list[dict[str, Any]]:
    """Messages sent and to send, newest first."""
    return [d.as_json() for d in agent.deliveries(state=state, vendor=vendor, limit=limit)]


@router.post("/deliveries/{delivery_id}/retry", tags=["deliveries"])
def retry_delivery(delivery_id: int, agent: Agent) -> dict[str, Any]:
    """Put a failed delivery back in its queue, due now."""
    return agent.retry(delivery_id).as_json()


@router.get("/audit", tags=["audit"])
def audit_log(agent: Agent) -> list[dict[str, Any]]:
    """The audit log, oldest first."""
    return [
        {"seq": e.seq, "at": e.at, "kind": e.kind, "details": e.details}
        for e in agent.audit_entries()
    ]


@router.get("/audit/verify", tags=["audit"])
def audit_verify(agent: Agent) -> dict[str, Any]:
    """Check the audit chain: ``intact`` false says where it breaks."""
    verdict = agent.audit_verify()
    return {
        "intact": verdict.intact,
        "entries": verdict.entries,
        "problem": verdict.problem,
        "first_bad_seq": verdict.first_bad_seq,
    }


@router.get(
    "/backup",
    tags=["settings"],
    response_class=Response,
    responses={200: {"content": {"application/vnd.sqlite3": {}}}},
)
def download_backup(request: Request) -> Response:
    """The whole agent as one encrypted file (vrm restore FILE reads it; needs the passphrase)."""
    copied = backup_bytes(request.app.state.database_path)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        copied,
        media_type="application/vnd.sqlite3",
        headers={"Content-Disposition": f'attachment; filename="vrm-backup-{stamp}.db"'},
    )


@router.get("/config", tags=["settings"])
def get_config(agent: Agent) -> dict[str, Any]:
    """The agent's settings."""
    return agent.config().model_dump()


@router.put("/config/{name}", tags=["settings"])
def put_config(name: str, body: SettingIn, agent: Agent) -> dict[str, Any]:
    """Change one setting."""
    return agent.set_config(name, body.value).model_dump()
