"""On PostgreSQL, changes to one customer happen one after the other: its row is locked."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from tests.vendor.people import VENDOR, request
from vrm.protocol import Identity
from vrm.vendor.records import Policy, Records


@pytest.mark.services
def test_a_change_in_progress_holds_the_customer_until_it_commits(
    postgres_url: str,
) -> None:
    """While one transaction changes a customer, another cannot start changing it too."""
    from vrm.storage import database_engine, migrate_to_newest
    from vrm.vendor.endpoint import MIGRATIONS

    engine: Engine = database_engine(postgres_url)
    migrate_to_newest(engine, MIGRATIONS)
    book = Records(engine, identity=VENDOR, policy=Policy(), adapters=[])
    person = Identity.generate()
    book.receive(request(person))
    try:
        with engine.begin() as first:
            book._customer_row(first, person.did)  # what every change reads first
            with engine.connect() as second, pytest.raises(OperationalError, match="lock"):
                second.execute(
                    text("SELECT did FROM customers WHERE did = :did FOR UPDATE NOWAIT"),
                    {"did": person.did},
                )
    finally:
        engine.dispose()
