"""Reminders: warranties ending within 30 days and renewals within 14, counted from today."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.agent.records.sales import item, sale, send
from tests.agent.vendors import Clock, VendorNetwork, connect
from vrm.agent.personal_agent import PersonalAgent

pytestmark = pytest.mark.anyio

TODAY = dt.date(2026, 3, 10)


@pytest.fixture
def clock() -> Clock:
    """Noon on 10 March 2026, where the test runs."""
    return Clock(dt.datetime(2026, 3, 10, 12, 0).timestamp())


def monthly(renews: str, price: str | None = None) -> dict[str, str]:
    plan = {"renews": renews, "every": "P1M"}
    return plan if price is None else {**plan, "price": price}


async def test_warranties_and_renewals_due_soon_are_listed_soonest_first(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Today and the last day of each window count; past days and later ones do not."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    body = sale(
        item("Kettle", "39.90", warrantyEnd="2026-04-09"),  # 30 days: listed
        item("Toaster", "25.00", warrantyEnd="2026-04-10"),  # 31 days: not yet
        item("Radio", "50.00", warrantyEnd="2026-03-09"),  # ended yesterday
        item("Lamp", "15.00", warrantyEnd="2026-03-10"),  # ends today
        item("Coffee club", "12.00", subscription=monthly("2026-03-24", "10.00")),  # 14 days
        item("Tea club", "8.00", subscription=monthly("2026-03-25")),  # 15 days: not yet
        item("Film club", "6.00", subscription=monthly("2026-03-01")),  # past
    )
    send(person, shop, relationship, body, clock=clock)

    due = person.reminders()
    assert [(r.kind, r.item, r.day, r.days_left) for r in due] == [
        ("warranty", "Lamp", TODAY, 0),
        ("renewal", "Coffee club", dt.date(2026, 3, 24), 14),
        ("warranty", "Kettle", dt.date(2026, 4, 9), 30),
    ]
    coffee = due[1]
    assert (coffee.price, coffee.currency, coffee.every) == ("10.00", "EUR", "P1M")
    assert (coffee.seller, coffee.order_number, coffee.vendor_id) == (
        "Corner Shop",
        "A-1001",
        relationship.id,
    )
    assert due[2].as_json()["date"] == "2026-04-09"

    clock.advance(24 * 3600)  # a day later the toaster's warranty comes into view
    assert [r.item for r in person.reminders() if r.kind == "warranty"] == ["Kettle", "Toaster"]


async def test_a_renewal_without_its_own_price_costs_the_items(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """The renewal's price is the item's unless the subscription names another."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    send(
        person,
        shop,
        relationship,
        sale(item("Tea club", "8.00", subscription=monthly("2026-03-12"))),
        clock=clock,
    )
    [renewal] = person.reminders()
    assert (renewal.price, renewal.days_left) == ("8.00", 2)


async def test_refunded_and_corrected_receipts_remind_of_nothing(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """A refund ends the reminders; a correction's dates replace the older receipt's."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    send(
        person,
        shop,
        relationship,
        sale(
            item("Kettle", "39.90", warrantyEnd="2026-03-20"),
            order="R-1",
            payment={"method": "card", "status": "refunded"},
        ),
        clock=clock,
    )
    send(
        person,
        shop,
        relationship,
        sale(item("Toaster", "25.00", warrantyEnd="2026-03-15")),
        clock=clock,
    )
    clock.advance(60)
    send(
        person,
        shop,
        relationship,
        sale(item("Toaster", "25.00", warrantyEnd="2027-03-15")),
        clock=clock,
    )
    assert person.reminders() == []
