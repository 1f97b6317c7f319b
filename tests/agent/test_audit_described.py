"""Audit entries in words: each kind the agent records reads as a sentence naming the vendor."""

from __future__ import annotations

import pytest

from vrm.agent.audit.described import describe
from vrm.agent.audit.service import AuditEntry

NAMES = {3: "Acme Books"}


@pytest.mark.parametrize(
    ("kind", "details", "said"),
    [
        (
            "disclosure",
            {"vendor": 3, "fields": ["email.home", "tel.cell"]},
            "Sent email.home, tel.cell to Acme Books",
        ),
        (
            "grant.added",
            {"vendor": 3, "fields": ["email.home"], "purpose": "receipts", "until": "2027-01-01"},
            "Granted email.home to Acme Books for “receipts” until 2027-01-01",
        ),
        (
            "grant.revoked",
            {"vendor": 3, "fields": ["email.home"], "reason": "relationship ended"},
            "Took back email.home from Acme Books (relationship ended)",
        ),
        (
            "relationship.accepted",
            {"vendor": 3, "by": "vendor"},
            "Acme Books accepted the relationship",
        ),
        ("relationship.paused", {"vendor": 3, "by": "person"}, "You paused sending to Acme Books"),
        (
            "relationship.refused",
            {"vendor": 4, "by": "vendor", "reason": "closed"},
            "vendor 4 refused the relationship: closed",
        ),
        (
            "agreement.accepted",
            {"vendor": 3, "terms": "SD-BASE", "by": "vendor"},
            "Acme Books agreed to SD-BASE",
        ),
        (
            "agreement.rejected",
            {"vendor": 3, "terms": "SD-BASE", "by": "vendor", "reason": "no"},
            "Acme Books turned down SD-BASE: no",
        ),
        ("data.erase_requested", {"vendor": 3}, "Asked Acme Books to erase your data"),
        (
            "offer.accepted",
            {"intent": 2, "offer": 5, "seller": "Kitchen Shop", "name": "Quiet dishwasher"},
            "You accepted the offer “Quiet dishwasher” from Kitchen Shop (intent 2)",
        ),
        ("intent.withdrawn", {"intent": 2}, "Intent 2 withdrawn"),
        (
            "profile.set",
            {"field": "email.home", "version": 2, "by": "web"},
            "email.home set (version 2, by web)",
        ),
        (
            "receipt.received",
            {"vendor": 3, "order": "A-7", "total": "12.50", "currency": "EUR", "replaces": [4]},
            "Acme Books sent a receipt for order A-7: 12.50 EUR"
            " (a correction: it replaces the one received before)",
        ),
        (
            "receipts.export",
            {"format": "csv", "receipts": 2, "to": "api"},
            "Your receipts were exported as csv (2 receipts)",
        ),
        ("journal.noted", {"intent": 2}, "You wrote your note on intent 2"),
        ("something.new", {}, "Something new"),
    ],
)
def test_each_kind_reads_as_a_sentence(kind: str, details: dict[str, object], said: str) -> None:
    """The sentence names the vendor by name (or number when unknown) and what was done."""
    assert describe(AuditEntry(seq=1, at=0.0, kind=kind, details=details), NAMES) == said
