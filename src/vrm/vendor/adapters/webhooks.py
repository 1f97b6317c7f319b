"""The Standard Webhooks adapter: each change POSTed, signed, to a URL the CRM listens on.

The request follows https://www.standardwebhooks.com: a JSON body
``{"type", "timestamp", "data"}`` and three headers, ``webhook-id`` (the change's
``event_id``, the same on every attempt, so the receiver can drop repeats),
``webhook-timestamp`` (when this attempt was made, in Unix seconds) and
``webhook-signature`` (HMAC-SHA256 over ``id.timestamp.body`` with the shared
secret). Any Standard Webhooks library verifies it, e.g. in Python
``standardwebhooks.Webhook(secret).verify(body, headers)``.

A 2xx answer means delivered. Following the specification, redirects are not
followed: a 3xx answer is a failure that only a corrected URL will fix.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp
from standardwebhooks.webhooks import Webhook

from vrm.transport.client import IDLE_CONNECTION_SECONDS
from vrm.vendor.adapters.base import AdapterError, CustomerChange

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's marker, not a secret
"""How a Standard Webhooks signing secret is written: this prefix, then base64."""
MIN_SECRET_BYTES = 24
"""The specification's smallest signing secret (192 bits)."""
MAX_SECRET_BYTES = 64
"""The specification's largest signing secret (512 bits)."""
MAX_ANSWER_BYTES = 64 * 1024
"""How much of the receiver's answer is read; only its status matters."""
QUOTED_ANSWER_CHARS = 200
"""How much of a refusal's body is quoted in the error, to help find the cause."""
RETRYABLE_STATUSES = frozenset({408, 429})
"""Client-error statuses that mean "try later" rather than "this request is wrong"."""


def decode_secret(secret: str) -> bytes:
    """The HMAC key in a ``whsec_<base64>`` secret; ValueError when it is not one.

    The ``standardwebhooks`` package accepts nearly any string (it drops characters
    that are not base64 and takes a string without the prefix as bare base64), so a
    mistyped secret would sign with a key the receiver does not have. This checks
    the form strictly instead. The message never repeats the secret.
    """
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret starts with {SECRET_PREFIX!r} followed by base64")
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"a webhook secret is {SECRET_PREFIX!r} followed by base64") from exc
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise ValueError(
            f"a webhook secret holds {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes, "
            f"this one {len(key)}"
        )
    return key


def iso_utc(timestamp: float) -> str:
    """A Unix timestamp as ISO 8601 in UTC, e.g. ``2022-11-03T20:26:10.344522Z``."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def webhook_body(change: CustomerChange) -> str:
    """The JSON document sent for ``change``, compact, exactly as it is signed."""
    payload = {
        "type": change.kind.value,
        "timestamp": iso_utc(change.occurred_at),
        "data": change.as_json(),
    }
    return json.dumps(payload, separators=(",", ":"))


def failure_for_status(status: int, url: str, answer: bytes) -> AdapterError:
    """The error for a non-2xx answer: retryable for 5xx, 408 and 429."""
    quoted = answer[:QUOTED_ANSWER_CHARS].decode("utf-8", errors="replace")
    retryable = status >= 500 or status in RETRYABLE_STATUSES
    return AdapterError(
        f"webhook receiver {url} answered {status}: {quoted!r}", retryable=retryable
    )


class WebhookAdapter:
    """Delivers each change as a signed Standard Webhooks POST to ``url``.

    Args:
        name: the adapter's name within the endpoint.
        url: the receiver's http(s) URL.
        secret: the shared signing secret, ``whsec_`` then base64 of 24 to 64 bytes.
        timeout: seconds for a whole attempt (connecting, sending, the answer).
    """

    def __init__(self, *, name: str, url: str, secret: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"the webhook URL must be an http(s) URL, not {url!r}")
        if timeout <= 0:
            raise ValueError(f"the webhook timeout must be positive, not {timeout}")
        decode_secret(secret)
        self.name = name
        self.url = url
        self.timeout = timeout
        self._signer = Webhook(secret)
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        # Created on first use: an aiohttp session belongs to the running event loop.
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(keepalive_timeout=IDLE_CONNECTION_SECONDS),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
        return self._session

    def signed_headers(self, change: CustomerChange, body: str) -> dict[str, str]:
        """The Standard Webhooks headers for one attempt at sending ``body`` now."""
        if "." in change.event_id:
            # The id is part of the signed "id.timestamp.body": a dot would make it ambiguous.
            raise AdapterError(
                f"event id {change.event_id!r} contains a '.', which webhook ids may not",
                retryable=False,
            )
        attempted_at = int(time.time())
        signature = self._signer.sign(
            msg_id=change.event_id,
            timestamp=datetime.fromtimestamp(attempted_at, tz=UTC),
            data=body,
        )
        return {
            "content-type": "application/json",
            "webhook-id": change.event_id,
            "webhook-timestamp": str(attempted_at),
            "webhook-signature": signature,
        }

    async def deliver(self, change: CustomerChange) -> None:
        """POST the change once; raise :class:`AdapterError` unless the answer is 2xx."""
        body = webhook_body(change)
        headers = self.signed_headers(change, body)
        try:
            async with self._get_session().post(
                self.url, data=body.encode(), headers=headers, allow_redirects=False
            ) as response:
                answer = await response.content.read(MAX_ANSWER_BYTES)
                status = response.status
        except aiohttp.InvalidURL as exc:
            raise AdapterError(f"webhook URL {self.url!r} is not valid", retryable=False) from exc
        except TimeoutError as exc:
            raise AdapterError(f"webhook to {self.url}: no answer in {self.timeout} s") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise AdapterError(
                f"webhook to {self.url} failed: {exc.__class__.__name__}: {exc}"
            ) from exc
        if not 200 <= status < 300:
            raise failure_for_status(status, self.url, answer)

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None
