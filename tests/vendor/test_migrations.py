"""The vendor store's migrations: a database of the first version keeps its data."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, insert, select

from tests.vendor.people import VENDOR, request
from vrm.protocol import Identity
from vrm.storage import migrate_to_newest
from vrm.vendor.endpoint import MIGRATIONS
from vrm.vendor.jobs import add_jobs
from vrm.vendor.records import Policy, Records
from vrm.vendor.schema import customers, jobs


def upgrade_to(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_a_first_version_store_is_migrated_with_its_customers_and_jobs(
    empty_engine: Engine,
) -> None:
    """Customers and queued jobs survive the upgrade; new job ids follow the old ones."""
    engine = empty_engine
    upgrade_to(engine, "0001")
    with engine.begin() as connection:
        connection.execute(
            insert(customers).values(
                did="did:key:z6MkOld",
                state="accepted",
                person_state="wants",
                reply_to="http://127.0.0.1:9/inbox",
                request_id="r1",
                created_at=1.0,
                updated_at=1.0,
            )
        )
        add_jobs(connection, [("message", "did:key:z6MkOld", "e1", {"inbox": "x"})], now=1.0)
    migrate_to_newest(engine, MIGRATIONS)
    book = Records(engine, identity=VENDOR, policy=Policy(), adapters=[])
    assert book.customer("did:key:z6MkOld")["state"] == "accepted"
    book.receive(request(Identity.generate()))
    with engine.begin() as connection:
        ids = connection.execute(select(jobs.c.id).order_by(jobs.c.id)).scalars().all()
    assert ids == [1, ids[0] + 1, ids[0] + 2]  # the old job, then the answers to the request


def test_job_ids_are_never_given_twice_after_an_erasure(engine: Engine) -> None:
    """Erasure deletes the newest jobs; the next jobs get new ids, not theirs."""
    person = Identity.generate()
    book = Records(engine, identity=VENDOR, policy=Policy(), adapters=["crm"])
    book.receive(request(person))
    with engine.begin() as connection:
        before = max(connection.execute(select(jobs.c.id)).scalars())
    book.erase(person.did)  # deletes the adapter's job, which had the newest id
    with engine.begin() as connection:
        after = (
            connection.execute(
                select(jobs.c.id).where(jobs.c.queue != "message").order_by(jobs.c.id)
            )
            .scalars()
            .all()
        )
    assert min(after) > before
