"""The intents store on SQLite and PostgreSQL, and the migration that adds it."""

from __future__ import annotations

import time

from sqlalchemy import Engine

from tests.vendor.intentcasting import intent
from tests.vendor.people import VENDOR, request
from tests.vendor.test_migrations import upgrade_to
from vrm.protocol import Identity, compose
from vrm.protocol.v1.intents import INTENT
from vrm.storage import migrate_to_newest
from vrm.terms import VendorTermsPolicy, library
from vrm.vendor.endpoint import MIGRATIONS
from vrm.vendor.intents import Intents, keep_intent
from vrm.vendor.records import Policy, Records

EXCHANGE = Identity.generate()


def book(engine: Engine) -> Intents:
    everything = VendorTermsPolicy.accepting_everything_in(library())
    return Intents(
        engine,
        identity=VENDOR,
        name="Leith Motors",
        public_url="https://vrm.motors.example",
        terms_policy=lambda: everything,
    )


def signed_intent() -> str:
    return compose(Identity.generate(), type=INTENT, to=EXCHANGE.did, body=intent())[1]


def test_an_intent_is_kept_once_whichever_way_it_comes(engine: Engine) -> None:
    """Pushed, then fetched (or pushed twice): one row, on either database."""
    token, now = signed_intent(), time.time()
    with engine.begin() as connection:
        kept = [
            keep_intent(connection, exchange=EXCHANGE.did, mailbox=mailbox, token=token, now=now)
            for mailbox in ("https://exchange.example/mailbox",) * 2
        ]
    assert kept == [True, False]
    [shown] = book(engine).intents()
    assert shown["state"] == "open"
    assert shown["terms_accepted"] == ["SD-BASE", "NoStalking"]


def test_a_second_version_store_gains_the_intents_tables_and_keeps_its_customers(
    empty_engine: Engine,
) -> None:
    """Migration 0003 adds exchanges, matched intents and offers beside the records."""
    upgrade_to(empty_engine, "0002")
    person = Identity.generate()
    Records(empty_engine, identity=VENDOR, policy=Policy(), adapters=[]).receive(request(person))
    migrate_to_newest(empty_engine, MIGRATIONS)
    records = Records(empty_engine, identity=VENDOR, policy=Policy(), adapters=[])
    assert records.customer(person.did)["state"] == "accepted"
    assert book(empty_engine).intents() == []
    assert book(empty_engine).offers() == []


def test_a_later_match_of_a_pooled_intent_tells_how_many_joined(engine: Engine) -> None:
    """The intent is still kept once; its pool size follows the exchange's latest word."""
    token, now = signed_intent(), time.time()
    mailbox = "https://exchange.example/mailbox"
    with engine.begin() as connection:
        keep_intent(connection, exchange=EXCHANGE.did, mailbox=mailbox, token=token, now=now)
        again = keep_intent(
            connection,
            exchange=EXCHANGE.did,
            mailbox=mailbox,
            token=token,
            pool=3,
            pool_id="pool-7",
            now=now,
        )
    assert again is False
    [shown] = book(engine).intents()
    assert (shown["pool"], shown["pool_id"]) == (3, "pool-7")
