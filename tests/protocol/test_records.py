"""The receipt body: money as exact decimal text, a total that adds up, dates that are days."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from vrm.protocol import (
    RECEIPT,
    Identity,
    ProtocolError,
    Receipt,
    RefusalCode,
    Verifier,
    compose,
    record_types,
    relationship_types,
)

VENDOR = Identity.from_seed(bytes(range(32)))
PERSON = Identity.from_seed(bytes(range(1, 33)))


def receipt(**changes: Any) -> dict[str, Any]:
    """Two loaves and a kilo of coffee, delivered, VAT in the prices: 29.90 GBP."""
    body: dict[str, Any] = {
        "orderNumber": "G-1042",
        "orderDate": "2026-01-02",
        "seller": {"name": "Corner Grocer", "url": "https://vrm.grocer.example"},
        "items": [
            {"name": "Sourdough loaf", "price": "4.20", "quantity": 2},
            {"name": "Coffee beans, 1 kg", "sku": "COF-1K", "price": "18.00"},
        ],
        "taxes": [{"name": "VAT", "amount": "4.98", "rate": "20", "included": True}],
        "deliveryCost": "3.50",
        "total": "29.90",
        "currency": "GBP",
    }
    body.update(changes)
    return body


def refusal(body: dict[str, Any]) -> str:
    """The first problem pydantic names for ``body`` as a receipt."""
    with pytest.raises(ValidationError) as refused:
        Receipt.model_validate(body)
    return str(refused.value.errors()[0]["msg"])


def test_the_total_is_items_times_quantities_plus_delivery() -> None:
    """Two loaves at 4.20, coffee at 18.00, 3.50 delivery: 29.90; the VAT inside is not added."""
    taken = Receipt.model_validate(receipt())
    assert taken.expected_total() == Decimal("29.90")
    assert taken.items[1].quantity == 1  # the default


def test_a_tax_not_included_is_added_to_the_total() -> None:
    """A duty on top of the prices belongs in the total; left out, the receipt is refused."""
    duty = {"name": "Bottle deposit", "amount": "0.25"}
    with_duty = receipt(taxes=[*receipt()["taxes"], duty])
    assert "29.90" in refusal(with_duty)
    assert Receipt.model_validate({**with_duty, "total": "30.15"}).total == "30.15"


def test_an_included_tax_counted_again_is_refused() -> None:
    """The VAT is in the prices: adding it to the total as well does not add up."""
    assert "is not the items, delivery and taxes added up" in refusal(receipt(total="34.88"))


def test_amounts_are_compared_as_numbers() -> None:
    """``"29.9"`` is the same total as ``"29.90"``."""
    assert Receipt.model_validate(receipt(total="29.9")).total == "29.9"


@pytest.mark.parametrize(
    "price",
    ["04.20", "4.20000", "-4.20", "4,20", "4.2e0", "1000000000000", " 4.20", "4."],
)
def test_money_is_plain_decimal_text(price: str) -> None:
    """No leading zero, sign, comma, exponent, space or fifth decimal; at most 12 digits."""
    items = [{"name": "Sourdough loaf", "price": price}]
    assert "String should match pattern" in refusal(receipt(items=items, total="0"))


def test_money_as_a_json_number_is_refused() -> None:
    """A float is not exact: the price must be a string."""
    items = [{"name": "Sourdough loaf", "price": 4.2}]
    assert refusal(receipt(items=items, total="4.2")) == "Input should be a valid string"


@pytest.mark.parametrize(
    "changes",
    [
        {"orderDate": "2026-02-30"},
        {"items": [{"name": "Kettle", "price": "29.90", "warrantyEnd": "2027-13-01"}]},
        {
            "items": [
                {
                    "name": "Coffee club",
                    "price": "29.90",
                    "subscription": {"renews": "2026-04-31", "every": "P1M"},
                }
            ]
        },
    ],
)
def test_a_date_that_is_no_day_of_the_calendar_is_refused(changes: dict[str, Any]) -> None:
    """The pattern lets 2026-02-30 through; the body does not."""
    kettle = [{"name": "Kettle", "price": "29.90"}]
    body = receipt(items=kettle, deliveryCost="0", taxes=[], total="29.90") | changes
    assert "is not a day of the calendar" in refusal(body)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"items": []}, "List should have at least 1 item"),
        ({"items": [{"name": "Loaf", "price": "1", "quantity": 0}]}, "greater than or equal to 1"),
        ({"colour": "blue"}, "Extra inputs are not permitted"),
        ({"currency": "gbp"}, "String should match pattern"),
        ({"orderNumber": " G-1042"}, "String should match pattern"),
        ({"payment": {"method": "card", "status": "owed"}}, "Input should be 'paid'"),
        ({"taxes": [{"name": "VAT", "amount": "1", "rate": "1000"}]}, "String should match"),
    ],
)
def test_a_receipt_out_of_shape_is_refused(changes: dict[str, Any], problem: str) -> None:
    """Empty orders, nothing bought, unknown members, odd codes and states are refused."""
    assert problem in refusal(receipt(**changes))


def test_subscriptions_and_warranties_are_kept_per_item() -> None:
    """Each item may end a warranty or start a subscription; rates may exceed 100 %."""
    items = [
        {"name": "Kettle", "price": "29.90", "warrantyEnd": "2028-01-01"},
        {
            "name": "Coffee club",
            "price": "12.00",
            "subscription": {"renews": "2026-02-02", "every": "P1M", "price": "10.00"},
        },
    ]
    duty = [{"name": "Spirits duty", "amount": "0", "rate": "150.5"}]
    taken = Receipt.model_validate(receipt(items=items, taxes=duty, total="45.40"))
    assert taken.items[0].warrantyEnd == "2028-01-01"
    assert taken.items[1].subscription is not None
    assert taken.items[1].subscription.every == "P1M"


def verdict(body: dict[str, Any], *, as_vendor: bool = False) -> str:
    """What the person's agent (or a vendor) says of a receipt from the vendor."""
    receiver = VENDOR if as_vendor else PERSON
    sender = PERSON if as_vendor else VENDOR
    types = relationship_types()
    if not as_vendor:
        types.update(record_types())
    _, token = compose(sender, type=RECEIPT, to=receiver.did, body=body)
    try:
        Verifier(receiver=receiver.did, types=types, seen_ids=None).verify(token)
    except ProtocolError as exc:
        return exc.code.value
    return "valid"


def test_a_person_s_agent_takes_a_receipt_that_adds_up_and_refuses_one_that_does_not() -> None:
    """A wrong total is invalid_body at the person's agent; a vendor does not take receipts."""
    assert verdict(receipt()) == "valid"
    assert verdict(receipt(total="29.80")) == RefusalCode.INVALID_BODY
    assert verdict(receipt(orderDate="2026-02-29")) == RefusalCode.INVALID_BODY  # not a leap year
    assert verdict(receipt(), as_vendor=True) == RefusalCode.UNKNOWN_TYPE


# Any receipt whose total is computed from its parts validates; any other total does not.

cents = st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False, allow_infinity=False)
lines = st.lists(
    st.tuples(cents, st.integers(min_value=1, max_value=1000)), min_size=1, max_size=20
)
levies = st.lists(st.tuples(cents, st.booleans()), max_size=5)


def money(amount: Decimal) -> str:
    """An amount as a receipt writes it."""
    return format(amount.normalize(), "f")


def built(
    parts: list[tuple[Decimal, int]], taxes: list[tuple[Decimal, bool]], total: Decimal
) -> dict[str, Any]:
    """A receipt of these items and taxes, delivered free, claiming ``total``."""
    return receipt(
        items=[
            {"name": f"item {n}", "price": money(price), "quantity": quantity}
            for n, (price, quantity) in enumerate(parts)
        ],
        taxes=[
            {"name": f"tax {n}", "amount": money(amount), "included": included}
            for n, (amount, included) in enumerate(taxes)
        ],
        deliveryCost="0",
        total=money(total),
    )


@settings(max_examples=200, deadline=None)
@given(parts=lines, taxes=levies)
def test_a_receipt_built_from_its_parts_always_validates(
    parts: list[tuple[Decimal, int]], taxes: list[tuple[Decimal, bool]]
) -> None:
    """Prices times quantities plus the taxes not included is a total the body accepts."""
    total = sum((price * quantity for price, quantity in parts), Decimal(0))
    total += sum((amount for amount, included in taxes if not included), Decimal(0))
    taken = Receipt.model_validate(built(parts, taxes, total))
    assert taken.expected_total() == total


@settings(max_examples=200, deadline=None)
@given(
    parts=lines,
    taxes=levies,
    off=cents.filter(lambda delta: delta != 0),
    down=st.booleans(),
)
def test_any_other_total_is_refused(
    parts: list[tuple[Decimal, int]],
    taxes: list[tuple[Decimal, bool]],
    off: Decimal,
    down: bool,
) -> None:
    """A total off by any amount, even a ten-thousandth, is refused."""
    total = sum((price * quantity for price, quantity in parts), Decimal(0))
    total += sum((amount for amount, included in taxes if not included), Decimal(0))
    wrong = total - off if down and off <= total else total + off
    with pytest.raises(ValidationError):
        Receipt.model_validate(built(parts, taxes, wrong))
