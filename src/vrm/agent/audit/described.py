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


def _health_presented(details: Mapping[str, Any], vendors: Names) -> str:
    types = details.get("types")
    count = len(types) if isinstance(types, list) else None
    listed = ", ".join(sorted(set(types))) if isinstance(types, list) else ""
    return (
        f"You presented {_health_records(count)}{f' ({listed})' if listed else ''} to "
        f"{_vendor(details, vendors)} until {details.get('until')}, for “{details.get('purpose')}”"
    )


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


def _count(listed: Any, noun: str) -> str:
    n = len(listed) if isinstance(listed, list) else 0
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _payment_failed(details: Mapping[str, Any], _vendors: Names) -> str:
    again = "will be retried" if details.get("retryable") else "will not be retried"
    return (
        f"Paying {details.get('amount')} {details.get('currency')} to {details.get('name')} "
        f"for {details.get('month')} failed: {details.get('error')} ({again})"
    )


def _provider_changed(details: Mapping[str, Any], _vendors: Names) -> str:
    if details.get("provider") != "stripe":
        return "Your payments are now recorded only: no money moves"
    return (
        f"Your payments now go through Stripe at {details.get('api_base')}: customer "
        f"{details.get('customer')} pays with {details.get('payment_method')} "
        f"(secret key {details.get('secret_key')})"
    )


def _review_written(details: Mapping[str, Any], _vendors: Names) -> str:
    said = (
        f"You wrote review {details.get('review')} of {details.get('item')}: "
        f"{details.get('rating')} stars, under {details.get('licence')}"
    )
    if details.get("reserved"):
        said += ", AI training reserved"
    return said + (", public" if details.get("public") else "")


def _review_withdrawn(details: Mapping[str, Any], vendors: Names) -> str:
    told = details.get("vendors")
    names = [vendors.get(v, f"vendor {v}") for v in told] if isinstance(told, list) else []
    said = f"You withdrew review {details.get('review')}"
    return said + (f"; told {', '.join(names)}" if names else "")


def _review_feed(details: Mapping[str, Any], _vendors: Names) -> str:
    if not details.get("on"):
        return "You turned your public review feed off"
    return (
        f"You turned your public review feed on at {details.get('url')} "
        f"({_count_of(details.get('reviews'), 'review')} in it)"
    )


def _count_of(number: Any, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


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
    "health.presented": _health_presented,
    "health.withdrawn": lambda d, v: (
        f"You withdrew the health records presented to {_vendor(d, v)} "
        f"(presentation {d.get('presentation')}): it is told to delete them"
        if d.get("reason") == "revoked"
        else f"The grant of the health records presented to {_vendor(d, v)} "
        f"(presentation {d.get('presentation')}) ended: it is told to delete them"
    ),
    "health.deleted": lambda d, v: (
        f"{_vendor(d, v)} confirmed deleting the health records you presented "
        f"(presentation {d.get('presentation')}, {d.get('reason')})"
    ),
    "membership.received": lambda d, v: (
        f"{_vendor(d, v)} {'changed your membership to' if d.get('replaced') else 'made you'} "
        f"{d.get('tier')} of {d.get('program')} (membership {d.get('membership')})"
    ),
    "membership.presented": lambda d, v: (
        f"You showed your {d.get('tier')} membership of {_vendor(d, v)} "
        f"(membership {d.get('membership')}) from the {d.get('to')}"
    ),
    "membership.revoked": lambda d, v: (
        f"{_vendor(d, v)} ended your membership {d.get('membership')}"
        + (f": {d['reason']}" if d.get("reason") else "")
    ),
    "journal.noted": lambda d, v: f"You wrote your note on intent {d.get('intent')}",
    "journal.cleared": lambda d, v: f"You cleared your note on intent {d.get('intent')}",
    "payments.budget": lambda d, v: (
        f"Your monthly budget is now {d.get('amount')} {d.get('currency')}"
    ),
    "payee.added": lambda d, v: f"You added {d.get('name')} to your payees",
    "payee.removed": lambda d, v: f"You removed {d.get('name')} from your payees",
    "payee.account": lambda d, v: (
        f"{d.get('name')} is now paid to {d['account']}"
        if d.get("account")
        else f"{d.get('name')} has no payment account now"
    ),
    "payments.provider_changed": _provider_changed,
    "payments.planned": _planned,
    "payment.paid": lambda d, v: (
        f"Paid {d.get('amount')} {d.get('currency')} to {d.get('name')} for {d.get('month')}"
        f" (reference {d.get('reference')})"
    ),
    "payment.failed": _payment_failed,
    "payment.retry_allowed": lambda d, v: f"You let payment {d.get('payment')} be tried again",
    "payment.notice_sent": lambda d, v: (
        f"Told {d.get('name')} of {d.get('amount')} {d.get('currency')} paid for "
        f"{d.get('month')}, with {_count(d.get('terms'), 'term')}"
    ),
    "payment.acknowledged": lambda d, v: (
        f"{d.get('name')} acknowledged {d.get('amount')} {d.get('currency')} and "
        f"{_count(d.get('terms'), 'term')}"
    ),
    "review.written": _review_written,
    "review.edited": lambda d, v: (
        f"You edited review {d.get('review')} (version {d.get('version')})"
    ),
    "review.published": lambda d, v: f"You made review {d.get('review')} of {d.get('item')} public",
    "review.unpublished": lambda d, v: (
        f"You took review {d.get('review')} of {d.get('item')} out of your public feed"
    ),
    "review.sent": lambda d, v: (
        f"Sent review {d.get('review')} of {d.get('item')} to {_vendor(d, v)}"
        + (f" (version {d['version']})" if d.get("version", 1) != 1 else "")
    ),
    "review.withdrawn": _review_withdrawn,
    "reviews.feed": _review_feed,
    "vendor.problem": lambda d, v: (
        f"{_vendor(d, v)} reported a problem: {d.get('code')}"
        + (f" — {d['detail']}" if d.get("detail") else "")
    ),
}
