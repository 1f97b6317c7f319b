"""docs/vendor.md against the code: its examples run, its settings and routes are the real ones.

The two Python examples marked ``<!-- example: … -->`` are executed as written: the
shop's own adapter and the Starlette application mounting the inbox. A person then
sends signed messages to the mounted inbox over real HTTP on 127.0.0.1, and the
test reads what the adapter wrote into the shop's table and what the records hold.
"""

from __future__ import annotations

import re
import sqlite3
import tomllib
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.vendor.people import offer
from vrm.protocol import (
    AGREEMENT_ANSWER,
    DATA_ERASED,
    DATA_REQUEST,
    PROFILE_REVOKE,
    PROFILE_UPDATE,
    RELATIONSHIP_REQUEST,
    RELATIONSHIP_STATE,
    Identity,
    Message,
    Verifier,
    compose,
    relationship_types,
)
from vrm.transport.serving import LocalServer
from vrm.vendor.api import router
from vrm.vendor.config import (
    CsvSettings,
    PolicySettings,
    ReceiptSettings,
    ScimSettings,
    TermsSettings,
    VendorSettings,
    WebhookSettings,
    settings_from,
)

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "vendor.md"
TEXT = GUIDE.read_text(encoding="utf-8")
JWS = {"content-type": "application/vrm+jws"}
SHIPPING = {
    "streetAddress": "1 Main St",
    "addressLocality": "Springfield",
    "postalCode": "12345",
    "addressCountry": "US",
}
T = TypeVar("T")


def example(name: str, language: str = "python") -> str:
    """The fenced block of ``language`` right after ``<!-- example: name -->``."""
    pattern = rf"<!-- example: {re.escape(name)} -->\n```{language}\n(.*?)\n```\n"
    found = re.findall(pattern, TEXT, flags=re.DOTALL)
    assert len(found) == 1, f"docs/vendor.md needs one ```{language} block marked {name!r}"
    return str(found[0])


def run_examples(*names: str) -> dict[str, Any]:
    """Execute the named Python examples, in order, in one module namespace (``shop.py``)."""
    namespace: dict[str, Any] = {"__name__": "shop"}
    for name in names:
        exec(compile(example(name), f"docs/vendor.md#{name}", "exec"), namespace)  # noqa: S102
    return namespace


class PersonInbox:
    """The person's side: an inbox at ``reply_to`` that keeps the vendor's verified answers."""

    def __init__(self, person: Identity) -> None:
        self.verifier = Verifier(receiver=person.did, types=relationship_types(), seen_ids=None)
        self.answers: list[Message] = []

    def app(self) -> Starlette:
        async def inbox(request: Request) -> Response:
            self.answers.append(self.verifier.verify(await request.body()))
            return Response(status_code=202)

        return Starlette(routes=[Route("/inbox", inbox, methods=["POST"])])


async def eventually(probe: Callable[[], T | None], what: str) -> T:
    """Poll ``probe`` until it returns something true (the worker runs in the background)."""
    with anyio.move_on_after(3):
        while not (found := probe()):
            await anyio.sleep(0.02)
    if not found:
        pytest.fail(f"no {what} within 3 s")
    return found


def table(path: Path) -> dict[tuple[str, str], tuple[str, int]]:
    """The shop's contact_fields table: (customer, field) → (JSON value, version)."""
    if not path.exists():
        return {}
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT customer, field, value, version FROM contact_fields").fetchall()
    return {(customer, field): (value, version) for customer, field, value, version in rows}


@pytest.mark.anyio
async def test_the_guide_s_adapter_and_app_take_a_person_s_fields_into_the_shop_s_table(
    tmp_path: Path,
) -> None:
    """The two examples, run as written, receive, answer, record and forward over real HTTP."""
    shop = run_examples("own-adapter", "mount-in-your-app")
    crm = tmp_path / "crm.db"
    settings = settings_from({"name": "Test Shop", "allow_loopback": True})
    app = shop["create_app"](settings, tmp_path / "vrm", f"sqlite:///{crm}")
    person = Identity.generate()
    person_inbox = PersonInbox(person)

    async with (
        LocalServer(person_inbox.app()) as person_server,
        LocalServer(app) as shop_server,
        httpx.AsyncClient(base_url=shop_server.url, timeout=5) as http,
    ):
        discovery = (await http.get("/.well-known/vrm")).json()
        assert discovery["name"] == "Test Shop"
        assert discovery["inbox"] == f"{shop_server.url}/vrm/inbox"
        assert {RELATIONSHIP_REQUEST, PROFILE_UPDATE, PROFILE_REVOKE} <= set(
            discovery["message_types"]
        )
        vendor = discovery["did"]

        async def send(type: str, body: dict[str, Any]) -> str:
            envelope, token = compose(person, type=type, to=vendor, body=body)
            reply = await http.post(discovery["inbox"], content=token, headers=JWS)
            assert reply.status_code == 202, reply.text
            return envelope.id

        assert discovery["accepted_terms"] == [
            "PDC-AI",
            "PDC-GOOD",
            "PDC-INTENT",
            "SD-BASE",
            "SD-BASE-DP",
        ]
        proffered = offer(person, vendor=vendor).model_dump(mode="json", exclude_none=True)
        request_id = await send(
            RELATIONSHIP_REQUEST, {"reply_to": f"{person_server.url}/inbox", "proffer": proffered}
        )
        [answer, agreed] = await eventually(
            lambda: len(person_inbox.answers) == 2 and person_inbox.answers, "the vendor's answers"
        )
        assert (answer.sender, answer.type) == (vendor, RELATIONSHIP_STATE)
        assert answer.envelope.thid == request_id
        assert answer.body.model_dump()["state"] == "accepted"
        assert (agreed.type, agreed.body.model_dump()["answer"]) == (AGREEMENT_ANSWER, "accepted")

        grant = {"purpose": "Delivering my orders", "until": "2026-12-31"}
        await send(
            PROFILE_UPDATE,
            {
                "grant": grant,
                "fields": [
                    {
                        "path": "email.primary",
                        "version": 2,
                        "value": "a@example.com",
                        "changed_time": 1,
                    },
                    {
                        "path": "address.shipping",
                        "version": 1,
                        "value": SHIPPING,
                        "changed_time": 2,
                    },
                ],
            },
        )
        rows = await eventually(lambda: table(crm), "the adapter's rows")
        assert rows == {
            (person.did, "email.primary"): ('"a@example.com"', 2),
            (person.did, "address.shipping"): (
                '{"streetAddress": "1 Main St", "addressLocality": "Springfield", '
                '"postalCode": "12345", "addressCountry": "US"}',
                1,
            ),
        }
        [record] = (await http.get("/staff/customers")).json()  # the example's own page
        assert record["did"] == person.did
        assert (record["state"], record["person_state"]) == ("accepted", "wants")
        assert record["fields"] == {"address.shipping": SHIPPING, "email.primary": "a@example.com"}

        await send(PROFILE_REVOKE, {"fields": ["address.shipping"]})
        await eventually(lambda: len(table(crm)) == 1, "the revoked field deleted")
        assert table(crm) == {(person.did, "email.primary"): ('"a@example.com"', 2)}
        [record] = (await http.get("/staff/customers")).json()
        assert record["fields"] == {"email.primary": "a@example.com"}

        erase_id = await send(DATA_REQUEST, {"kind": "erase"})
        await eventually(lambda: table(crm) == {}, "the erased customer's rows deleted")
        [record] = (await http.get("/staff/customers")).json()
        assert (record["state"], record["fields"]) == ("erased", {})
        [erased] = await eventually(
            lambda: [m for m in person_inbox.answers if m.type == DATA_ERASED], "data.erased"
        )
        assert erased.body.model_dump()["request"] == erase_id
        assert erased.body.model_dump()["systems"] == [
            {"system": "contacts", "state": "deleted", "detail": None}
        ]


def test_the_guide_s_settings_example_is_accepted_and_uses_every_adapter_type() -> None:
    """The TOML of the guide passes the same checks as vendor.toml at start-up."""
    settings = settings_from(tomllib.loads(example("vendor-toml", "toml")), source="docs")
    assert settings.policy.mode == "allow_list"
    assert settings.terms.policy().alternative == "SD-BASE"
    assert sorted(adapter.type for adapter in settings.adapters) == ["csv", "scim", "webhook"]
    assert settings.receipts.on_offer_accept is True


@pytest.mark.parametrize(
    "model",
    [
        VendorSettings,
        PolicySettings,
        TermsSettings,
        ReceiptSettings,
        WebhookSettings,
        ScimSettings,
        CsvSettings,
    ],
)
def test_the_guide_explains_every_setting(model: type[Any]) -> None:
    """Each key of the settings appears in the guide's table of keys."""
    missing = [
        key
        for key in model.model_fields
        if not re.search(
            rf"^\| `(\[(policy|terms|receipts)\] )?\[*{key}\]*`", TEXT, flags=re.MULTILINE
        )
    ]
    assert not missing, f"docs/vendor.md does not explain {missing}"


def test_the_guide_shows_every_route_of_the_api() -> None:
    """Each route of /api has its own heading in the guide."""
    routes = [route for route in router.routes if isinstance(route, APIRoute)]
    assert routes
    for route in routes:
        for method in route.methods:
            assert f"`{method} {route.path}" in TEXT, f"{method} {route.path} is not in the guide"
