"""A stand-in CRM that takes signed webhooks: for the demo and the tests.

It verifies each request with the ``standardwebhooks`` package (a forged or
tampered webhook is refused with 401), keeps every customer's fields as the
changes arrive, and ignores a ``webhook-id`` it already took. ``GET /customers``
shows what it holds. Run one: ``python -m vrm.demo.webhook_crm --secret whsec_… --port 0``.
"""

from __future__ import annotations

import argparse
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from vrm.transport.serving import LocalServer, run_service


def create_webhook_crm(secret: str) -> FastAPI:
    """The CRM's app: ``POST /hooks`` takes webhooks, ``GET /customers`` shows the records."""
    verifier = Webhook(secret)
    customers: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    app = FastAPI(title="webhook CRM (stand-in)")

    @app.post("/hooks")
    async def take(request: Request) -> JSONResponse:
        body = await request.body()
        try:
            payload = verifier.verify(body, dict(request.headers))
        except WebhookVerificationError:
            return JSONResponse({"error": "signature does not verify"}, status_code=401)
        event_id = request.headers["webhook-id"]
        if event_id not in seen:
            seen.add(event_id)
            data = payload["data"]
            record = customers.setdefault(data["customer"], {"fields": {}, "events": []})
            record["events"].append(data["kind"])
            for path, value in data["fields"].items():
                if value is None:
                    record["fields"].pop(path, None)
                else:
                    record["fields"][path] = value
        return JSONResponse({"ok": True})

    @app.get("/customers")
    async def held() -> dict[str, Any]:
        return customers

    return app


def main() -> None:
    """Serve the stand-in CRM; prints 'listening on URL' when ready."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--secret", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    async def serve() -> None:
        app = create_webhook_crm(args.secret)
        async with LocalServer(app, host=args.host, port=args.port) as server:
            print(f"listening on {server.url}", flush=True)
            await server.stopped

    run_service(serve())


if __name__ == "__main__":
    main()
