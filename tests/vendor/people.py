"""Factories for the vendor tests: a person's signed messages and terms, the vendor's store."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Engine, select

from vrm.protocol import (
    AGREEMENT_PROFFER,
    PROFILE_UPDATE,
    RELATIONSHIP_REQUEST,
    Identity,
    Message,
    Verifier,
    compose,
    relationship_types,
)
from vrm.terms import Proffer, Terms, library, proffer
from vrm.vendor.jobs import MESSAGE_QUEUE
from vrm.vendor.schema import jobs

VENDOR = Identity.generate()
REPLY_TO = "http://127.0.0.1:9/inbox"


def terms(agreement: str = "SD-BASE", *additional: str) -> Terms:
    """Terms of the library: one agreement and additional terms, by id."""
    known = library()
    return Terms(
        agreement=known.agreement(agreement), additional=tuple(known.term(t) for t in additional)
    )


def offer(person: Identity, proffered: Terms | None = None, vendor: str = VENDOR.did) -> Proffer:
    """The person's signed proffer of ``proffered`` (SD-BASE by default) to ``vendor``."""
    return proffer(
        proffered or terms(),
        person,
        person=person.did,
        vendor=vendor,
        proffered_by="person",
        now=int(time.time()),
    )


def message(person: Identity, type: str, body: dict[str, Any]) -> Message:
    """A message from ``person`` to the vendor, verified as the inbox verifies it."""
    _, token = compose(person, type=type, to=VENDOR.did, body=body)
    verifier = Verifier(receiver=VENDOR.did, types=relationship_types(), seen_ids=None)
    return verifier.verify(token)


def request(person: Identity, proffered: Proffer | None = None, *, bare: bool = False) -> Message:
    """A relationship request proffering SD-BASE (or ``proffered``; none when ``bare``)."""
    body: dict[str, Any] = {"reply_to": REPLY_TO}
    if not bare:
        body["proffer"] = (proffered or offer(person)).model_dump(mode="json", exclude_none=True)
    return message(person, RELATIONSHIP_REQUEST, body)


def proffer_message(person: Identity, proffered: Proffer) -> Message:
    """An ``agreement.proffer`` within the relationship."""
    body = {"proffer": proffered.model_dump(mode="json", exclude_none=True)}
    return message(person, AGREEMENT_PROFFER, body)


def update(person: Identity, path: str, version: int, value: Any) -> Message:
    """A ``profile.update`` of one field."""
    fields = [{"path": path, "version": version, "value": value, "changed_time": version}]
    return message(person, PROFILE_UPDATE, {"grant": {"purpose": "post"}, "fields": fields})


def queued(engine: Engine) -> list[tuple[str, str, dict[str, Any]]]:
    """Every job: (queue, customer, payload), oldest first."""
    with engine.begin() as connection:
        rows = connection.execute(select(jobs).order_by(jobs.c.id)).all()
    return [(row.queue, row.customer, json.loads(row.payload)) for row in rows]


def sent_to(engine: Engine, person: Identity) -> list[Message]:
    """The vendor's messages queued for ``person``, verified as their agent would."""
    verifier = Verifier(receiver=person.did, types=relationship_types(), seen_ids=None)
    return [
        verifier.verify(payload["token"])
        for queue, customer, payload in queued(engine)
        if queue == MESSAGE_QUEUE and customer == person.did and not payload.get("encrypted")
    ]


def of_type(messages: list[Message], type: str) -> list[Message]:
    """The messages of one type."""
    return [m for m in messages if m.type == type]
