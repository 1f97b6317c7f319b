"""Audit entries in words: one sentence per entry, for the pages and the terminal.

The log records numbers (vendor ids, message ids, versions); a person reads
names and actions. :func:`describe` turns an entry into "Sent email.home to
Acme" given the vendors' names; the entry's details stay available beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from vrm.agent.audit.service import AuditEntry

Names = Mapping[int, str]


def describe(entry: AuditEntry, vendors: Names) -> str:
    """One sentence saying what ``entry`` records, naming vendors from ``vendors``."""
    details = entry.details
    sentence = _SENTENCES.get(entry.kind)
    if sentence is not None:
        return sentence(details, vendors)
    group, _, what = entry.kind.partition(".")
    if group == "relationship":
        return _relationship(what, details, vendors)
    if group == "agreement":
        return _agreement(what, details, vendors)
    if group == "intent":
        return f"Intent {details.get('intent')} {what.replace('_', ' ')}"
    return entry.kind.replace(".", " ").replace("_", " ").capitalize()


def _vendor(details: Mapping[str, Any], vendors: Names) -> str:
    vendor = details.get("vendor")
    if isinstance(vendor, int):
        return vendors.get(vendor, f"vendor {vendor}")
    return "a vendor"


def _fields(details: Mapping[str, Any]) -> str:
    fields = details.get("fields")
    if isinstance(fields, list):
        return ", ".join(str(field) for field in fields) or "no field"
    return str(fields)


def _relationship(state: str, details: Mapping[str, Any], vendors: Names) -> str:
    vendor = _vendor(details, vendors)
    if details.get("by") == "vendor":
        said = {
            "accepted": "accepted the relationship",
            "refused": "refused the relationship",
            "ended": "ended the relationship",
        }.get(state, f"set its side to {state}")
        reason = details.get("reason")
        return f"{vendor} {said}" + (f": {reason}" if reason else "")
    return {
        "wants": f"You resumed sending to {vendor}",
        "paused": f"You paused sending to {vendor}",
        "ended": f"You ended the relationship with {vendor}",
    }.get(state, f"You set your side with {vendor} to {state}")


def _agreement(state: str, details: Mapping[str, Any], vendors: Names) -> str:
    vendor = _vendor(details, vendors)
    terms = details.get("terms", "terms")
    by_vendor = details.get("by") == "vendor"
    if state == "proffered":
        return f"{vendor} proposed {terms}" if by_vendor else f"You proposed {terms} to {vendor}"
    if state == "alternative":
        return f"{vendor} answered with other terms: {terms}"
    if state == "accepted":
        return f"{vendor} agreed to {terms}" if by_vendor else f"You agreed to {vendor}'s {terms}"
    if state == "rejected":
        reason = details.get("reason")
        who = vendor if by_vendor else "You"
        return f"{who} turned down {terms}" + (f": {reason}" if reason else "")
    return f"Terms {terms} with {vendor}: {state}"


def _offer(state: str) -> Callable[[Mapping[str, Any], Names], str]:
    def sentence(details: Mapping[str, Any], _vendors: Names) -> str:
        seller = details.get("seller", "a seller")
        name = details.get("name", f"offer {details.get('offer')}")
        return f"You {state} the offer “{name}” from {seller} (intent {details.get('intent')})"

    return sentence


def _receipt(details: Mapping[str, Any], vendors: Names) -> str:
    said = (
        f"{_vendor(details, vendors)} sent a receipt for order {details.get('order')}: "
        f"{details.get('total')} {details.get('currency')}"
    )
    if details.get("replaces"):
        return said + " (a correction: it replaces the one received before)"
    if details.get("superseded_by"):
        return said + " (older than the correction already received, kept for the record)"
    return said


def _health_records(count: Any) -> str:
    return "1 health record" if count == 1 else f"{count} health records"


def _health_import(details: Mapping[str, Any], _vendors: Names) -> str:
    counts = details.get("counts")
    listed = (
        ", ".join(f"{number} {kind}" for kind, number in counts.items())
        if isinstance(counts, dict)
        else ""
    )
    total = sum(counts.values()) if isinstance(counts, dict) else None
    said = f"You imported {_health_records(total)} from {details.get('source')}"
    return said + (f" ({listed})" if listed else "")


def _planned(details: Mapping[str, Any], _vendors: Names) -> str:
    currency = details.get("currency")
    said = (
        f"Planned {details.get('month')}'s payments: {details.get('payments')} "
        f"totalling {details.get('total')} of {details.get('budget')} {currency}"
    )
    unallocated = details.get("unallocated")
    if unallocated and any(digit not in "0." for digit in str(unallocated)):
        said += f" ({unallocated} {currency} left unallocated)"
    return said


def _payment_failed(details: Mapping[str, Any], _vendors: Names) -> str:
    again = "will be retried" if details.get("retryable") else "will not be retried"
    return (
        f"Paying {details.get('amount')} {details.get('currency')} to {details.get('name')} "
        f"for {details.get('month')} failed: {details.get('error')} ({again})"
    )


_SENTENCES: dict[str, Callable[[Mapping[str, Any], Names], str]] = {
    "agent.created": lambda d, v: "Your agent was created",
    "profile.set": lambda d, v: (
        f"{d.get('field')} set (version {d.get('version')}, by {d.get('by')})"
    ),
    "profile.clear": lambda d, v: f"{d.get('field')} cleared (by {d.get('by')})",
    "profile.export": lambda d, v: (
        f"Your profile was exported as {d.get('format')} ({d.get('fields')} fields)"
    ),
    "disclosure": lambda d, v: f"Sent {_fields(d)} to {_vendor(d, v)}",
    "grant.added": lambda d, v: (
        f"Granted {_fields(d)} to {_vendor(d, v)} "
        f"for “{d.get('purpose')}”" + (f" until {d['until']}" if d.get("until") else "")
    ),
    "grant.revoked": lambda d, v: (
        f"Took back {_fields(d)} from {_vendor(d, v)}"
        + (f" ({d['reason']})" if d.get("reason") else "")
    ),
    "relationship.requested": lambda d, v: (
        f"Asked {d.get('name')} ({d.get('url')}) for a relationship"
    ),
    "data.export_requested": lambda d, v: f"Asked {_vendor(d, v)} for a copy of your data",
    "data.erase_requested": lambda d, v: f"Asked {_vendor(d, v)} to erase your data",
    "data.exported": lambda d, v: (
        f"{_vendor(d, v)} sent a copy of your data "
        f"({d.get('fields')} fields, {d.get('vendor_data')} of its own records)"
    ),
    "data.erased": lambda d, v: f"{_vendor(d, v)} confirmed erasing your data",
    "intent.published": lambda d, v: (
        f"Published intent {d.get('intent')} ({d.get('category')}) at {d.get('exchange')}"
    ),
    "offer.received": lambda d, v: f"Received offer {d.get('offer')} for intent {d.get('intent')}",
    "offer.accepted": _offer("accepted"),
    "offer.declined": _offer("declined"),
    "terms.default": lambda d, v: (
        f"Your default terms are now {d.get('terms')} "
        f"(vendors' other terms: {d.get('alternatives')})"
    ),
    "receipt.received": _receipt,
    "receipts.export": lambda d, v: (
        f"Your receipts were exported as {d.get('format')} ({d.get('receipts')} receipts)"
    ),
    "health.imported": _health_import,
    "health.exported": lambda d, v: (
        f"You exported {_health_records(d.get('count'))} to {d.get('to')}"
    ),
    "journal.noted": lambda d, v: f"You wrote your note on intent {d.get('intent')}",
    "journal.cleared": lambda d, v: f"You cleared your note on intent {d.get('intent')}",
    "payments.budget": lambda d, v: (
        f"Your monthly budget is now {d.get('amount')} {d.get('currency')}"
    ),
    "payee.added": lambda d, v: f"You added {d.get('name')} to your payees",
    "payee.removed": lambda d, v: f"You removed {d.get('name')} from your payees",
    "payments.planned": _planned,
    "payment.paid": lambda d, v: (
        f"Paid {d.get('amount')} {d.get('currency')} to {d.get('name')} for {d.get('month')}"
        f" (reference {d.get('reference')})"
    ),
    "payment.failed": _payment_failed,
    "vendor.problem": lambda d, v: (
        f"{_vendor(d, v)} reported a problem: {d.get('code')}"
        + (f" — {d['detail']}" if d.get("detail") else "")
    ),
}
