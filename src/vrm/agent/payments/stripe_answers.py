"""What Stripe's answers mean for a payment, as Stripe documents them.

https://docs.stripe.com/error-handling and https://docs.stripe.com/payments/paymentintents/lifecycle:

=======================================  ==========================  ========
answer                                   means                       retried
=======================================  ==========================  ========
200, intent ``succeeded``                paid: the intent's id       —
200, intent ``processing``               Stripe has it, not settled  yes [1]_
200, ``requires_payment_method``         declined                    no
200, ``requires_action``                 the bank wants the person   no
200, ``canceled``                        canceled at Stripe          no
402 ``card_error``                       declined (Stripe's words)   no
400 ``idempotency_error``                key reused, other details   no
400 ``payment_intent_unexpected_state``  confirmed meanwhile         yes
400/404 ``invalid_request_error``        a wrong id or parameter     no
401, 403                                 the secret key refused      no
409, 429, 5xx, no answer                 busy, down, lost            yes
=======================================  ==========================  ========

``Stripe-Should-Retry: true|false``, when Stripe sends it, decides over the table.

.. [1] Not recorded as paid until it succeeds: the next pay finds the same intent
   (:mod:`vrm.agent.payments.stripe` looks it up first) and reads how it ended.

No message carries the secret key: the key Stripe echoes (masked) when it refuses
one is never repeated, and any other text is scrubbed of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vrm.agent.payments.providers import PaymentFailed

if TYPE_CHECKING:
    import httpx

MAX_SAID = 300
_RETRIED_STATUSES = frozenset({409, 429})


def read_answer(reply: httpx.Response, *, secret: str) -> dict[str, Any]:
    """The JSON object of a successful answer.

    Raises:
        PaymentFailed: an error answer, read by the table above.
    """
    body = _json(reply)
    if reply.is_success and body:
        return body
    error = body.get("error")
    if not isinstance(error, dict):
        error = {}
    status = reply.status_code
    said = _said(error, secret)
    if status in (401, 403):
        failed = PaymentFailed(
            f"Stripe refused the secret key ({status}): set the platform's secret key again "
            "(vrm pay provider stripe)"
            + (", one allowed to write PaymentIntents" if status == 403 else ""),
            retryable=False,
        )
    elif status == 402 or error.get("type") == "card_error":
        failed = PaymentFailed(f"Stripe declined the payment: {said}", retryable=False)
    elif error.get("type") == "idempotency_error" and status == 400:
        failed = PaymentFailed(
            "Stripe already holds a request under this payment's idempotency key with other "
            "details (the amount, account or payment method changed since the first try): "
            f"{said}",
            retryable=False,
        )
    elif status in _RETRIED_STATUSES or status >= 500:
        failed = PaymentFailed(f"Stripe is busy or unavailable ({status}): {said}", retryable=True)
    elif error.get("code") == "payment_intent_unexpected_state":
        # the intent moved on meanwhile (another pay confirmed it): the next pay reads it
        failed = PaymentFailed(f"Stripe: {said}", retryable=True)
    elif reply.is_success:
        failed = PaymentFailed(f"Stripe's answer ({status}) is not JSON", retryable=True)
    else:
        failed = PaymentFailed(f"Stripe refused the payment ({status}): {said}", retryable=False)
    should_retry = reply.headers.get("Stripe-Should-Retry")
    if should_retry in ("true", "false") and status not in (401, 403):
        failed.retryable = should_retry == "true"
    raise failed


def outcome(intent: dict[str, Any]) -> str:
    """The id of a PaymentIntent that succeeded.

    Raises:
        PaymentFailed: it did not (yet), read by the table above.
    """
    reference = intent.get("id")
    status = intent.get("status")
    if not isinstance(reference, str) or not reference.startswith("pi_"):
        raise PaymentFailed("Stripe's answer holds no PaymentIntent", retryable=True)
    if status == "succeeded":
        return reference
    if status == "processing":
        raise PaymentFailed(
            f"Stripe is still processing {reference}: the next pay reads how it ended",
            retryable=True,
        )
    last_error = intent.get("last_payment_error")
    reason = _said(last_error, "") if isinstance(last_error, dict) else ""
    if status == "requires_action":
        raise PaymentFailed(
            f"your bank wants you to approve {reference} yourself (e.g. 3-D Secure): save a "
            "payment method that can be charged while you are away, then try it again",
            retryable=False,
        )
    if status == "requires_payment_method":
        raise PaymentFailed(
            f"Stripe declined {reference}" + (f": {reason}" if reason else ""), retryable=False
        )
    if status == "canceled":
        raise PaymentFailed(f"{reference} was canceled at Stripe", retryable=False)
    raise PaymentFailed(f"{reference} is {status} at Stripe, not paid", retryable=True)


def _said(error: dict[str, Any], secret: str) -> str:
    """Stripe's message with its code, short, and without the secret key."""
    message = str(error.get("message") or "no reason given").strip()
    code = error.get("decline_code") or error.get("code")
    said = f"{message} ({code})" if code else message
    if secret:
        said = said.replace(secret, "[secret key]")
    return said[:MAX_SAID]


def _json(reply: httpx.Response) -> dict[str, Any]:
    try:
        body = reply.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
