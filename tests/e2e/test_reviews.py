"""Reviews between ``vrm up`` and ``vrm serve vendor``, each in its own process.

The person writes reviews (by the API and the ``vrm`` command), sends one to the vendor
over their relationship and publishes their feed; the vendor fetches the feed over HTTP,
verifies every review and keeps each with its licence, refuses a forged copy, and honours
withdrawals; the feed turned off is a 404.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.commandline import run_vrm
from tests.e2e.test_agent_service import (
    PASSPHRASE,
    RunningAgent,
    eventually,
    relate,
)
from tests.e2e.test_vendor_endpoint import start_vendor
from vrm.protocol.encoding import b64url_decode, b64url_encode

pytestmark = pytest.mark.e2e
CC_BY_NC = "https://creativecommons.org/licenses/by-nc/4.0/"


@pytest.fixture
def forged_feed() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A web server on 127.0.0.1 serving whatever body the test puts in ``served["body"]``."""
    served: dict[str, bytes] = {"body": b"{}"}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(served["body"])))
            self.end_headers()
            self.wfile.write(served["body"])

        def log_message(self, *_args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/reviews", served
    server.shutdown()
    server.server_close()
    thread.join(10)


def write(agent: RunningAgent, item: str, **changes: Any) -> dict[str, Any]:
    body = {
        "item": item,
        "rating": 4,
        "title": f"About the {item.lower()}",
        "body": f"The {item.lower()} does what it says.",
        "licence": "cc-by-nc",
        "no_ai_training": True,
        "author": "Kestrel",
        "public": True,
        **changes,
    }
    reply = agent.api.post("/api/reviews", json=body)
    assert reply.status_code == 201, reply.text
    written: dict[str, Any] = reply.json()
    return written


def held(api: httpx.Client) -> dict[str, dict[str, Any]]:
    """The vendor's reviews by @id."""
    return {r["review_id"]: r for r in api.get("/api/reviews").json()}


def fetch(api: httpx.Client, url: str) -> dict[str, Any]:
    reply = api.post("/api/reviews/fetch", json={"url": url})
    assert reply.status_code == 200, reply.text
    report: dict[str, Any] = reply.json()
    return report


def forge(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry with five stars written into its signed review: the signature breaks."""
    header, payload, signature = entry["signed"].split(".")
    document = json.loads(b64url_decode(payload))
    document["reviewRating"]["ratingValue"] = 5
    forged = ".".join([header, b64url_encode(json.dumps(document).encode()), signature])
    return {**entry, "signed": forged, "review": document}


def test_reviews_go_to_the_vendor_with_their_licence_and_are_withdrawn(
    running_agent: RunningAgent, tmp_path: Path, forged_feed: tuple[str, dict[str, bytes]]
) -> None:
    """Sent, fetched from the feed, a forgery refused, withdrawals honoured, the feed turned off."""
    agent = running_agent
    vendor, api = start_vendor(tmp_path / "grocer")
    try:
        relationship = relate(agent, vendor.url)
        kettle = write(agent, "Kettle")

        sent = run_vrm(
            "reviews", "send", str(kettle["id"]), "--to", str(relationship["id"]),
            home=agent.home, passphrase=PASSPHRASE,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        assert "sent to Corner Grocer" in sent.stdout
        at_vendor = eventually(
            lambda: held(api).get(kettle["review"]["@id"]), what="the review at the vendor"
        )
        assert at_vendor["customer"] == relationship["our_did"]
        assert at_vendor["license"]["url"] == CC_BY_NC
        assert at_vendor["license"]["commercial"] is False
        assert at_vendor["tdm_reservation"] is True
        assert at_vendor["signed"] == kettle["signed"]

        feed_url = f"{agent.service.url}/reviews"
        assert httpx.get(feed_url).status_code == 404  # off until the person turns it on
        assert agent.api.put("/api/reviews/feed", json={"on": True}).json()["url"] == feed_url
        teapot = write(agent, "Teapot", licence="cc-by", no_ai_training=False)
        mug = write(agent, "Mug")
        public = httpx.get(feed_url)  # no token: anyone may read it
        assert public.status_code == 200
        assert relationship["our_did"] not in public.text

        report = fetch(api, feed_url)
        assert sorted(report["stored"]) == sorted([teapot["review"]["@id"], mug["review"]["@id"]])
        assert report["unchanged"] == [kettle["review"]["@id"]]
        assert report["refused"] == []
        from_feed = held(api)[teapot["review"]["@id"]]
        assert (from_feed["feed"], from_feed["customer"]) == (feed_url, None)
        assert from_feed["license"]["name"] == "CC BY 4.0"
        assert from_feed["tdm_reservation"] is False

        # A copy of the feed with one review forged: refused, and nothing of it kept.
        cup = write(agent, "Cup")
        document = httpx.get(feed_url).json()
        [entry] = [e for e in document["reviews"] if e["id"] == cup["review"]["@id"]]
        document["reviews"] = [forge(entry)]
        forged_url, served = forged_feed
        served["body"] = json.dumps(document).encode()
        forged = fetch(api, forged_url)
        assert [(r["id"], r["code"]) for r in forged["refused"]] == [
            (cup["review"]["@id"], "bad_signature")
        ]
        assert forged["stored"] == []
        assert cup["review"]["@id"] not in held(api)

        # Withdrawn: the customer's copy by message, the feed's by leaving the feed.
        agent.api.post(f"/api/reviews/{kettle['id']}/withdraw").raise_for_status()
        agent.api.post(f"/api/reviews/{mug['id']}/withdraw").raise_for_status()
        eventually(
            lambda: held(api)[kettle["review"]["@id"]]["state"] == "withdrawn",
            what="the vendor marking the sent review withdrawn",
        )
        listed = [e["id"] for e in httpx.get(feed_url).json()["reviews"]]
        assert kettle["review"]["@id"] not in listed
        assert mug["review"]["@id"] not in listed
        again = fetch(api, feed_url)
        assert again["withdrawn"] == [mug["review"]["@id"]]
        now = held(api)
        for gone in (kettle, mug):
            assert now[gone["review"]["@id"]]["state"] == "withdrawn"
            assert now[gone["review"]["@id"]]["review"] is None
        assert now[teapot["review"]["@id"]]["state"] == "current"

        assert agent.api.put("/api/reviews/feed", json={"on": False}).json()["on"] is False
        off = httpx.get(feed_url)
        assert off.status_code == 404
        assert off.headers["content-type"] == "application/problem+json"
        refused = api.post("/api/reviews/fetch", json={"url": feed_url})
        assert (refused.status_code, refused.json()["code"]) == (502, "feed_unusable")
        kinds = [e["kind"] for e in agent.get("/api/audit")]
        for kind in ("review.written", "review.sent", "review.withdrawn", "reviews.feed"):
            assert kind in kinds
    finally:
        api.close()
        vendor.stop()
