"""Stripe's answers read as Stripe documents them: paid, final, or worth another try."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from vrm.agent.payments.providers import PaymentFailed
from vrm.agent.payments.stripe_answers import outcome, read_answer

SECRET = "sk_test_51TheSecretKeyOfThePlatform7319"


def answer(status: int, body: Any = None, **headers: str) -> httpx.Response:
    """An HTTP answer as Stripe would send it."""
    if body is None:
        return httpx.Response(status, text="<html>Bad gateway</html>", headers=headers)
    return httpx.Response(status, json=body, headers=headers)


def stripe_error(kind: str, message: str, **more: Any) -> dict[str, Any]:
    """Stripe's error document."""
    return {"error": {"type": kind, "message": message, **more}}


def failure(reply: httpx.Response) -> PaymentFailed:
    """What reading ``reply`` raised."""
    with pytest.raises(PaymentFailed) as raised:
        read_answer(reply, secret=SECRET)
    return raised.value


def test_a_successful_answer_is_its_document() -> None:
    """A 200 is the object Stripe sent."""
    intent = {"id": "pi_1", "object": "payment_intent", "status": "succeeded"}
    assert read_answer(answer(200, intent), secret=SECRET) == intent


DECLINED = stripe_error(
    "card_error",
    "Your card has insufficient funds.",
    code="card_declined",
    decline_code="insufficient_funds",
)
REUSED = stripe_error(
    "idempotency_error",
    "Keys for idempotent requests can only be used with the same parameters they were "
    "first used with.",
)
IN_USE = stripe_error(
    "invalid_request_error",
    "There is currently another in-progress request using this Idempotent Key",
    code="idempotency_key_in_use",
)
NO_CUSTOMER = stripe_error(
    "invalid_request_error", "No such customer: 'cus_x'", code="resource_missing"
)
BAD_KEY = stripe_error("invalid_request_error", "Invalid API Key provided: sk_test_****7319")
NOT_ALLOWED = stripe_error("invalid_request_error", "The key lacks the required permissions")
TOO_MANY = stripe_error("invalid_request_error", "Too many requests", code="rate_limit")
UNKNOWN = stripe_error("api_error", "An unknown error occurred")
MOVED_ON = stripe_error(
    "invalid_request_error",
    "This PaymentIntent's status is succeeded, which does not allow confirm.",
    code="payment_intent_unexpected_state",
)
NO_RETRY = {"Stripe-Should-Retry": "false"}
RETRY = {"Stripe-Should-Retry": "true"}
ERRORS = {
    "402 declined": (
        answer(402, DECLINED),
        "Stripe declined the payment: Your card has insufficient funds. (insufficient_funds)",
        False,
    ),
    "400 idempotency_error": (
        answer(400, REUSED),
        "Stripe already holds a request under this payment's idempotency key with other details",
        False,
    ),
    "400 invalid request": (
        answer(400, NO_CUSTOMER),
        "Stripe refused the payment (400): No such customer: 'cus_x' (resource_missing)",
        False,
    ),
    "400 confirmed meanwhile": (answer(400, MOVED_ON), "status is succeeded", True),
    "401": (answer(401, BAD_KEY), "Stripe refused the secret key (401)", False),
    "403": (answer(403, NOT_ALLOWED), "one allowed to write PaymentIntents", False),
    "409": (answer(409, IN_USE), "Stripe is busy or unavailable (409)", True),
    "429": (answer(429, TOO_MANY), "(429): Too many requests (rate_limit)", True),
    "500": (answer(500, UNKNOWN), "(500): An unknown error occurred", True),
    "502 not JSON": (answer(502), "Stripe is busy or unavailable (502): no reason given", True),
    "500 told not to retry": (answer(500, UNKNOWN, **NO_RETRY), "(500)", False),
    "400 told to retry": (answer(400, TOO_MANY, **RETRY), "Too many requests", True),
}


@pytest.mark.parametrize(("reply", "said", "retryable"), ERRORS.values(), ids=ERRORS.keys())
def test_an_error_answer_is_final_or_worth_another_try(
    reply: httpx.Response, said: str, retryable: bool
) -> None:
    """Each error says what went wrong and whether the next pay may get past it."""
    failed = failure(reply)
    assert said in str(failed)
    assert failed.retryable is retryable


def test_the_secret_key_is_never_repeated() -> None:
    """Not even when an error's text carries it: the key is scrubbed, and 401's echo dropped."""
    leaked = failure(answer(400, stripe_error("invalid_request_error", f"bad key {SECRET}")))
    assert SECRET not in str(leaked)
    assert "[secret key]" in str(leaked)
    refused = failure(answer(401, stripe_error("invalid_request_error", f"Invalid {SECRET[-4:]}")))
    assert SECRET[-4:] not in str(refused)


@pytest.mark.parametrize(
    ("status", "said", "retryable"),
    [
        ("processing", "Stripe is still processing pi_7: the next pay reads how it ended", True),
        ("requires_action", "your bank wants you to approve pi_7 yourself", False),
        ("requires_payment_method", "Stripe declined pi_7: Your card was declined.", False),
        ("canceled", "pi_7 was canceled at Stripe", False),
    ],
)
def test_an_intent_not_succeeded_is_not_paid(status: str, said: str, retryable: bool) -> None:
    """Only a succeeded intent is a payment; processing is looked at again by the next pay."""
    intent = {
        "id": "pi_7",
        "status": status,
        "last_payment_error": {"message": "Your card was declined.", "code": "card_declined"},
    }
    with pytest.raises(PaymentFailed) as raised:
        outcome(intent)
    assert said in str(raised.value)
    assert raised.value.retryable is retryable


def test_a_succeeded_intent_is_paid_with_its_id() -> None:
    """The PaymentIntent's id is the ledger's reference."""
    assert outcome({"id": "pi_3MtwBwLkdIwHu7ix28a3tqPa", "status": "succeeded"}) == (
        "pi_3MtwBwLkdIwHu7ix28a3tqPa"
    )
