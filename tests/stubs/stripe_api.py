"""A local stand-in for the part of Stripe's API that EmanciPay's Stripe provider uses.

Faithful to https://docs.stripe.com/api where the provider depends on it: bearer
secret key (401 otherwise); form-encoded parameters; ``Idempotency-Key`` (the same
key with the same parameters replays the first answer with ``Idempotent-Replayed:
true``, with other parameters is a 400 ``idempotency_error``; answers that failed
validation are not kept); PaymentIntents created and confirmed off-session as
destination charges, listed newest first by customer, and confirmed again; the
test payment methods ``pm_card_visa`` (paid) and ``pm_card_chargeDeclined`` (402
``card_declined``); unknown customers, methods and destinations are 400
``resource_missing``.

For the tests only, under ``/_stub``: ``POST fail-next`` (``status``, ``after_commit``
— make the charge, then answer with the failure —, ``drop`` the connection,
``delay`` seconds, ``should_retry``, ``method``, ``path``), ``GET charges`` (the
money moved), ``GET requests``, ``POST forget-keys`` (as Stripe does after 24
hours) and ``POST reset``.

Run: ``python tests/stubs/stripe_api.py --secret sk_test_… --customer cus_…
--account acct_… [--port 0]``; it prints ``listening on URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from vrm.transport.serving import LocalServer, run_service

CARDS = {"pm_card_visa": None, "pm_card_chargeDeclined": ("card_declined", "generic_decline")}
CONFIRMABLE = {"requires_payment_method", "requires_confirmation", "requires_action"}


@dataclass
class Stripe:
    """What the stand-in holds: the platform's key, customers, accounts, intents, charges."""

    secret: str
    customers: set[str]
    accounts: set[str]
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: list[dict[str, Any]] = field(default_factory=list)
    keys: dict[str, tuple[dict[str, str], int, dict[str, Any]]] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)


def error(status: int, kind: str, message: str, **more: Any) -> tuple[int, dict[str, Any]]:
    """A Stripe error answer."""
    return status, {"error": {"type": kind, "message": message, **more}}


def missing(what: str, value: str, param: str) -> tuple[int, dict[str, Any]]:
    """Stripe's answer for an id it does not know."""
    said = f"No such {what}: '{value}'"
    return error(400, "invalid_request_error", said, code="resource_missing", param=param)


def charge(stripe: Stripe, intent: dict[str, Any], method: str) -> tuple[int, dict[str, Any]]:
    """Confirm ``intent`` with ``method``: the money moves, or the card is declined."""
    if method not in CARDS:
        return missing("PaymentMethod", method, "payment_method")
    intent["payment_method"] = method
    declined = CARDS[method]
    if declined is not None:
        code, decline_code = declined
        failed = {"type": "card_error", "code": code, "decline_code": decline_code}
        failed["message"] = "Your card was declined."
        intent |= {"status": "requires_payment_method", "last_payment_error": failed}
        return 402, {"error": failed | {"payment_intent": intent}}
    intent |= {"status": "succeeded", "last_payment_error": None}
    moved = {key: intent[key] for key in ("amount", "currency", "customer")}
    moved |= {"intent": intent["id"], "destination": intent["transfer_data"]["destination"]}
    stripe.charges.append(moved)
    return 200, intent


def create(stripe: Stripe, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """``POST /v1/payment_intents`` with ``confirm=true``: a destination charge."""
    amount = form.get("amount", "")
    if not amount.isdigit() or int(amount) < 1:
        return error(400, "invalid_request_error", "Invalid integer", param="amount")
    if form.get("customer") not in stripe.customers:
        return missing("customer", form.get("customer", ""), "customer")
    if form.get("payment_method") not in CARDS:
        return missing("PaymentMethod", form.get("payment_method", ""), "payment_method")
    destination = form.get("transfer_data[destination]", "")
    if destination not in stripe.accounts:
        return missing("destination", destination, "transfer_data[destination]")
    intent = {
        "id": "pi_" + secrets.token_hex(12),
        "object": "payment_intent",
        "amount": int(amount),
        "currency": form.get("currency"),
        "customer": form["customer"],
        "description": form.get("description"),
        "status": "requires_confirmation",
        "transfer_data": {"destination": destination},
        "metadata": {
            key[9:-1]: value for key, value in form.items() if key.startswith("metadata[")
        },
        "created": int(time.time()),
        "last_payment_error": None,
    }
    stripe.intents[intent["id"]] = intent
    return charge(stripe, intent, form["payment_method"])


async def cut_short() -> AsyncIterator[bytes]:
    """A body that stops after its first byte: the connection dropped mid-answer."""
    yield b"{"
    raise ConnectionAbortedError("the stand-in drops the connection")


def create_app(stripe: Stripe) -> FastAPI:
    """The stand-in's HTTP API."""
    app = FastAPI()

    async def answer(request: Request, work: Any, *args: Any) -> Response:
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        key = request.headers.get("idempotency-key")
        stripe.requests.append(
            {
                "method": request.method,
                "path": request.url.path,
                "idempotency_key": key,
                "stripe_version": request.headers.get("stripe-version"),
                "form": form,
            }
        )
        if request.headers.get("authorization") != f"Bearer {stripe.secret}":
            masked = request.headers.get("authorization", "")[-4:]
            status, body = error(
                401, "invalid_request_error", f"Invalid API Key provided: sk_test_****{masked}"
            )
            return JSONResponse(body, status)
        failure = next(
            (
                f
                for f in stripe.failures
                if f.get("method", "POST") == request.method
                and f.get("path", "/v1/payment_intents") == request.url.path
            ),
            None,
        )
        if failure is not None:
            stripe.failures.remove(failure)
            if not failure.get("after_commit") and (cut := await failed(failure)):
                return cut
        headers = {}
        if key is not None and key in stripe.keys:
            first, status, body = stripe.keys[key]
            if first != form:
                status, body = error(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters "
                    f"they were first used with. Try using a key other than '{key}' if you "
                    "meant to execute a different request.",
                )
            else:
                headers["Idempotent-Replayed"] = "true"
        else:
            status, body = work(stripe, form, *args)
            if key is not None and status in (200, 402):  # what failed validation is not kept
                stripe.keys[key] = (form, status, body)
        if failure is not None and failure.get("after_commit") and (cut := await failed(failure)):
            return cut
        return JSONResponse(body, status, headers=headers)

    async def failed(failure: dict[str, Any]) -> Response | None:
        """The failure's answer after its delay; None when it only delays the real one."""
        await asyncio.sleep(failure.get("delay", 0))
        if failure.get("drop"):
            return StreamingResponse(cut_short(), headers={"content-length": "1000"})
        if "status" not in failure:
            return None
        retry = failure.get("should_retry")
        headers = {} if retry is None else {"Stripe-Should-Retry": str(retry).lower()}
        status, body = error(failure["status"], "api_error", "An unknown error occurred")
        return JSONResponse(body, status, headers=headers)

    def listed(stripe: Stripe, form: dict[str, str], query: dict[str, str]) -> tuple[int, Any]:
        limit = int(query.get("limit", "10"))
        found = [
            intent
            for intent in reversed(stripe.intents.values())
            if query.get("customer") in (None, intent["customer"])
        ]
        page = {"object": "list", "data": found[:limit], "has_more": len(found) > limit}
        return 200, page | {"url": "/v1/payment_intents"}

    def confirm(stripe: Stripe, form: dict[str, str], intent_id: str) -> tuple[int, Any]:
        intent = stripe.intents.get(intent_id)
        if intent is None:
            return missing("payment_intent", intent_id, "intent")
        if intent["status"] not in CONFIRMABLE:
            return error(
                400,
                "invalid_request_error",
                f"This PaymentIntent's status is {intent['status']}, which does not allow confirm.",
                code="payment_intent_unexpected_state",
            )
        return charge(stripe, intent, form.get("payment_method", intent["payment_method"]))

    @app.post("/v1/payment_intents")
    async def create_intent(request: Request) -> Response:
        return await answer(request, create)

    @app.get("/v1/payment_intents")
    async def list_intents(request: Request) -> Response:
        return await answer(request, listed, dict(request.query_params))

    @app.post("/v1/payment_intents/{intent_id}/confirm")
    async def confirm_intent(request: Request, intent_id: str) -> Response:
        return await answer(request, confirm, intent_id)

    @app.post("/_stub/fail-next")
    async def fail_next(request: Request) -> dict[str, int]:
        stripe.failures.append(await request.json())
        return {"waiting": len(stripe.failures)}

    @app.get("/_stub/charges")
    def charges() -> list[dict[str, Any]]:
        return stripe.charges

    @app.get("/_stub/requests")
    def requests() -> list[dict[str, Any]]:
        return stripe.requests

    @app.post("/_stub/forget-keys")
    def forget_keys() -> dict[str, int]:
        forgotten = len(stripe.keys)
        stripe.keys.clear()
        return {"forgotten": forgotten}

    @app.post("/_stub/reset")
    def reset() -> dict[str, bool]:
        for held in ("intents", "charges", "keys", "failures", "requests"):
            getattr(stripe, held).clear()
        return {"reset": True}

    return app


def main() -> None:
    """Serve the stand-in until stopped; prints 'listening on URL' when ready."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--secret", required=True)
    parser.add_argument("--customer", action="append", default=[])
    parser.add_argument("--account", action="append", default=[])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    stripe = Stripe(args.secret, set(args.customer), set(args.account))

    async def serve() -> None:
        async with LocalServer(create_app(stripe), port=args.port) as server:
            print(f"listening on {server.url}", flush=True)
            await server.stopped

    run_service(serve())


if __name__ == "__main__":
    main()
