"""Paying through Stripe: a Connect destination charge per payment, never two.

:class:`StripeProvider` speaks Stripe's REST API (https://docs.stripe.com/api) with
a platform's secret key. The person is a Customer of that platform with a saved
PaymentMethod; each payee is one of its connected accounts (``acct_…``); each
payment is a PaymentIntent confirmed off-session with
``transfer_data[destination]`` set to the payee's account, so the money lands
there. What Stripe answers is read by :mod:`vrm.agent.payments.stripe_answers`.

One payment is one PaymentIntent, however often it is tried. Stripe forgets an
idempotency key after 24 hours, and a ledger may retry a payment days later, so
the key also travels in the intent's metadata and every attempt first looks for
it among the customer's latest intents (``GET /v1/payment_intents``):

- found, and paid or on its way: that intent is the answer, nothing is sent;
- found, but not through (declined, or needing the payment method again): it is
  confirmed again, with the payment method as now configured — an intent moves
  money at most once, so this cannot pay twice;
- not found: it is created and confirmed in one call, under ``Idempotency-Key`` =
  the ledger's key, so an answer lost within the day is replayed, not charged again.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from vrm.agent.payments.money import exponent
from vrm.agent.payments.payees import Payee
from vrm.agent.payments.providers import PaymentFailed
from vrm.agent.payments.stripe_answers import outcome, read_answer

if TYPE_CHECKING:  # the HTTP client is loaded only when a payment is made
    import httpx

STRIPE_API = "https://api.stripe.com"
STRIPE_VERSION = "2024-06-20"
"""The API version every request is pinned to (``Stripe-Version``), whatever the account's."""
METADATA_KEY = "vrm_payment"
"""The intent's metadata entry holding the ledger's idempotency key (nothing personal)."""
LOOKUP_LIMIT = 100
"""How many of the customer's latest intents a retry looks through (Stripe's page size)."""
TIMEOUT = 30.0
"""Seconds to wait for Stripe's answer (a connection, at most 10)."""
DESCRIPTION = "EmanciPay"

_SECRET_KEY = re.compile(r"[sr]k_(?:test|live)_[A-Za-z0-9]{8,250}")
_CUSTOMER = re.compile(r"cus_[A-Za-z0-9]{1,250}")
_PAYMENT_METHOD = re.compile(r"pm_[A-Za-z0-9_]{1,250}")
_ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA"})
_ZERO_DECIMAL |= {"PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
"""Currencies Stripe counts in whole units (https://docs.stripe.com/currencies)."""
_THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])
_RETRIED_BY_CONFIRMING = frozenset(
    {"requires_payment_method", "requires_confirmation", "requires_action"}
)


def check_secret_key(key: str) -> str:
    """``key`` when it looks like a Stripe secret (``sk_…``) or restricted (``rk_…``) key.

    Raises:
        ValueError: it does not (the message never repeats the key).
    """
    key = key.strip()
    if not _SECRET_KEY.fullmatch(key):
        raise ValueError(
            "a Stripe secret key starts with sk_test_ or sk_live_ (rk_ for a restricted key)"
        )
    return key


def check_customer(customer: str) -> str:
    """``customer`` when it is a Stripe Customer id (``cus_…``); else ValueError."""
    if not _CUSTOMER.fullmatch(customer.strip()):
        raise ValueError(f"a Stripe customer id starts with cus_ (got {customer!r})")
    return customer.strip()


def check_payment_method(payment_method: str) -> str:
    """``payment_method`` when it is a Stripe PaymentMethod id (``pm_…``); else ValueError."""
    if not _PAYMENT_METHOD.fullmatch(payment_method.strip()):
        raise ValueError(f"a Stripe payment method id starts with pm_ (got {payment_method!r})")
    return payment_method.strip()


def check_api_base(url: str, *, allow_loopback: bool) -> str:
    """``url`` (without a trailing slash) when the Stripe API may be reached there.

    Over https anywhere; over plain http only on this machine, and only when the
    agent lets its calls reach loopback addresses (a local stand-in for tests).

    Raises:
        ValueError: any other address.
    """
    url = url.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        parts = urlsplit("")
    if parts.hostname and parts.scheme == "https" and not parts.query:
        return url
    if parts.hostname and parts.scheme == "http" and not parts.query:
        if not _is_loopback(parts.hostname):
            raise ValueError(f"the Stripe API is reached over https (got {url!r})")
        if not allow_loopback:
            raise ValueError(
                f"{url} is on this machine: set allow_loopback first (vrm config set "
                "allow_loopback true)"
            )
        return url
    raise ValueError(f"the Stripe API address is an https URL, e.g. {STRIPE_API} (got {url!r})")


def stripe_amount(minor: int, currency: str) -> int:
    """``minor`` ISO 4217 minor units of ``currency`` counted as Stripe's API counts them.

    Stripe counts most currencies in their ISO minor unit, but some differently (ISK
    in hundredths, MGA in whole units), and three-decimal ones in tens of the unit.

    Raises:
        ValueError: the amount has a fraction Stripe cannot take.
    """
    places = 0 if currency in _ZERO_DECIMAL else 3 if currency in _THREE_DECIMAL else 2
    scale: int = 10 ** abs(places - exponent(currency))
    amount, rest = divmod(minor, scale) if places < exponent(currency) else (minor * scale, 0)
    if rest or (currency in _THREE_DECIMAL and amount % 10):
        raise ValueError(
            f"Stripe takes no fraction of {currency} this small: "
            "round the payee's share (e.g. a fixed amount) to whole units"
        )
    return amount


class StripeProvider:
    """Pays each payee's connected account from the person's saved payment method.

    Args:
        secret_key: the platform's secret key (``sk_…``); kept out of every message.
        customer: the person's Customer id (``cus_…``) on the platform.
        payment_method: the Customer's saved PaymentMethod (``pm_…``) to charge.
        api_base: where the API answers (a local stand-in for tests).
        allow_loopback: let ``api_base`` be plain http on this machine.
        client: the HTTP client to use (the caller closes it); by default one is
            opened for each payment.
        timeout: how long to wait for Stripe when no client is given.

    Raises:
        ValueError: one of the ids or the address does not fit.
    """

    name = "stripe"

    def __init__(
        self,
        *,
        secret_key: str,
        customer: str,
        payment_method: str,
        api_base: str = STRIPE_API,
        allow_loopback: bool = False,
        client: httpx.Client | None = None,
        timeout: httpx.Timeout | float = TIMEOUT,
    ) -> None:
        self._secret_key = check_secret_key(secret_key)
        self.customer = check_customer(customer)
        self.payment_method = check_payment_method(payment_method)
        self.api_base = check_api_base(api_base, allow_loopback=allow_loopback)
        self._client = client
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"StripeProvider(customer={self.customer!r}, api_base={self.api_base!r})"

    def pay(self, amount: int, currency: str, payee: Payee, idempotency_key: str) -> str:
        """Charge ``amount`` to the person and send it to the payee's account; the intent id.

        Raises:
            PaymentFailed: the payment did not go through, with whether a retry may help.
        """
        if payee.account is None:
            raise PaymentFailed(
                f"{payee.name} has no Stripe account to be paid to: set it with "
                f"vrm pay payees account {payee.id} acct_…",
                retryable=False,
            )
        try:
            units = stripe_amount(amount, currency)
        except ValueError as exc:
            raise PaymentFailed(str(exc), retryable=False) from None
        with self._session() as client:
            earlier = self._earlier(client, idempotency_key)
            if earlier is None:
                intent = self._call(
                    client,
                    "POST",
                    "/v1/payment_intents",
                    form=self._new_intent(units, currency, payee.account, idempotency_key),
                    idempotency_key=idempotency_key,
                )
            elif earlier.get("status") in _RETRIED_BY_CONFIRMING:
                intent = self._call(
                    client,
                    "POST",
                    f"/v1/payment_intents/{earlier['id']}/confirm",
                    form={"payment_method": self.payment_method, "off_session": "true"},
                )
            else:
                intent = earlier
        return outcome(intent)

    def _new_intent(
        self, units: int, currency: str, account: str, idempotency_key: str
    ) -> dict[str, str]:
        return {
            "amount": str(units),
            "currency": currency.lower(),
            "customer": self.customer,
            "payment_method": self.payment_method,
            "confirm": "true",
            "off_session": "true",
            # a saved method charged without the person present cannot follow a redirect
            "automatic_payment_methods[enabled]": "true",
            "automatic_payment_methods[allow_redirects]": "never",
            "transfer_data[destination]": account,
            "description": DESCRIPTION,
            f"metadata[{METADATA_KEY}]": idempotency_key,
        }

    def _earlier(self, client: httpx.Client, idempotency_key: str) -> dict[str, Any] | None:
        """The intent an earlier attempt made for this key, the most advanced if several."""
        listed = self._call(
            client,
            "GET",
            "/v1/payment_intents",
            params={"customer": self.customer, "limit": str(LOOKUP_LIMIT)},
        )
        data = listed.get("data")
        found = [
            intent
            for intent in (data if isinstance(data, list) else [])
            if isinstance(intent, dict)
            and isinstance(intent.get("metadata"), dict)
            and intent["metadata"].get(METADATA_KEY) == idempotency_key
            and isinstance(intent.get("id"), str)
        ]
        rank = {"succeeded": 0, "processing": 1}
        found.sort(key=lambda intent: rank.get(str(intent.get("status")), 2))
        return found[0] if found else None

    def _call(
        self,
        client: httpx.Client,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        headers = {
            "Authorization": f"Bearer {self._secret_key}",
            "Stripe-Version": STRIPE_VERSION,
        }
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        import httpx

        try:
            reply = client.request(
                method, self.api_base + path, data=form, params=params, headers=headers
            )
        except httpx.TimeoutException:
            raise PaymentFailed(
                "Stripe did not answer in time; the next pay looks for this payment first",
                retryable=True,
            ) from None
        except httpx.RequestError as exc:
            raise PaymentFailed(
                f"Stripe could not be reached ({exc.__class__.__name__}); the next pay "
                "looks for this payment first",
                retryable=True,
            ) from None
        return read_answer(reply, secret=self._secret_key)

    @contextmanager
    def _session(self) -> Iterator[httpx.Client]:
        if self._client is not None:
            yield self._client
            return
        import httpx

        timeout = self._timeout
        if not isinstance(timeout, httpx.Timeout):
            timeout = httpx.Timeout(timeout, connect=min(10.0, timeout))
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            yield client


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
