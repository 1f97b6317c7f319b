"""What the person pays from: the monthly budget, the payees and their rules, logged uses.

All of it is personal (whom the person supports, how much, how many hours they
listened), so every value is sealed, bound to its row; only numbers, months and
times stay in clear. A payee that is removed stays, marked removed, because the
ledger's payments name it; it takes no part in months planned after.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, text

from vrm.agent.audit import service as audit
from vrm.agent.errors import Conflict, NotFound
from vrm.agent.payments.allocation import Fixed, PerUse, Share, ShareRule, rule_from_json
from vrm.agent.payments.money import currency_code, format_minor, parse_decimal, to_minor
from vrm.vault import Sealer

MAX_NAME_CHARS = 200
MAX_TERMS = 20
MAX_TERM_CHARS = 200
MAX_NOTE_CHARS = 1000
MAX_URL_CHARS = 2000
MAX_ACCOUNT_CHARS = 255
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_ACCOUNT = re.compile(r"acct_[A-Za-z0-9]+")


@dataclass(frozen=True)
class Budget:
    """The monthly budget: an amount in one currency."""

    amount: Decimal
    currency: str

    @property
    def minor(self) -> int:
        """The amount in minor units."""
        return to_minor(self.amount, self.currency, "the budget")

    def describe(self) -> str:
        """``20.00 EUR a month``."""
        return f"{format_minor(self.minor, self.currency)} a month"

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the amount as exact decimal text)."""
        return {"amount": str(self.amount), "currency": self.currency, "minor": self.minor}


@dataclass(frozen=True)
class Payee:
    """Someone the person pays: a station, a creator, any endpoint that takes payments."""

    id: int
    name: str
    rule: ShareRule
    endpoint: str | None
    """The URL of its endpoint that accepts ``payment`` messages, if it has one."""
    terms: tuple[str, ...]
    """The person's terms that go with every payment (e.g. "no fund-drive calls")."""
    created_at: float
    removed_at: float | None
    account: str | None = None
    """The provider account it is paid to (a Stripe connected account, ``acct_…``), if set."""

    @property
    def share(self) -> Share:
        """Its claim on the budget."""
        return Share(self.id, self.rule)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "id": self.id,
            "name": self.name,
            "rule": self.rule.as_json(),
            "endpoint": self.endpoint,
            "terms": list(self.terms),
            "created_at": self.created_at,
            "removed_at": self.removed_at,
            "account": self.account,
        }


@dataclass(frozen=True)
class Use:
    """Units of a per-use payee the person used in a month (e.g. 3 listening hours)."""

    id: int
    payee_id: int
    month: str
    units: Decimal
    note: str | None
    logged_at: float

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (units as exact decimal text)."""
        return {
            "id": self.id,
            "payee": self.payee_id,
            "month": self.month,
            "units": str(self.units),
            "note": self.note,
            "logged_at": self.logged_at,
        }


def check_month(month: str) -> str:
    """``month`` if it is a month written ``YYYY-MM``.

    Raises:
        ValueError: it is not.
    """
    found = _MONTH.fullmatch(month.strip())
    if found is None or not 1 <= int(found[2]) <= 12 or int(found[1]) < 1970:
        raise ValueError(f"a month is written YYYY-MM, e.g. 2026-03 (got {month!r})")
    return found[0]


def month_of(now: float) -> str:
    """The month (``YYYY-MM``, local time) the epoch time ``now`` falls in."""
    return dt.datetime.fromtimestamp(now).strftime("%Y-%m")


# budget


def set_budget(
    connection: Connection, sealer: Sealer, amount: str | Decimal, currency: str, *, now: float
) -> Budget:
    """Make ``amount`` in ``currency`` the monthly budget.

    Raises:
        UnknownCurrency: not an ISO 4217 currency.
        InvalidAmount: not a non-negative amount with at most the currency's decimals.
    """
    budget = Budget(parse_decimal(amount, "a budget"), currency_code(currency))
    _ = budget.minor  # checks the decimals against the currency
    sealed = sealer.seal_text(json.dumps(budget.as_json()), "payment_budget/1")
    connection.execute(
        text(
            "INSERT INTO payment_budget (id, sealed_budget, updated_at) VALUES (1, :sealed, :now)"
            " ON CONFLICT (id) DO UPDATE SET sealed_budget = excluded.sealed_budget,"
            " updated_at = excluded.updated_at"
        ),
        {"sealed": sealed, "now": now},
    )
    audit.append(
        connection,
        sealer,
        kind="payments.budget",
        details={"amount": str(budget.amount), "currency": budget.currency},
        now=now,
    )
    return budget


def budget(connection: Connection, sealer: Sealer) -> Budget | None:
    """The monthly budget, or None before one is set."""
    sealed = connection.execute(text("SELECT sealed_budget FROM payment_budget")).scalar()
    if sealed is None:
        return None
    data = json.loads(sealer.open_text(sealed, "payment_budget/1"))
    return Budget(Decimal(data["amount"]), data["currency"])


# payees


def add_payee(
    connection: Connection,
    sealer: Sealer,
    *,
    name: str,
    rule: ShareRule,
    endpoint: str | None,
    terms: list[str],
    now: float,
) -> Payee:
    """Add a payee with its share rule, endpoint and terms.

    Raises:
        ValueError: a name, URL or term that does not fit, or a fixed amount with
            more decimals than the budget's currency.
        Conflict: a payee of that name is already there.
    """
    name = name.strip()
    if not name or len(name) > MAX_NAME_CHARS:
        raise ValueError(f"a payee's name is 1 to {MAX_NAME_CHARS} characters")
    if any(payee.name.casefold() == name.casefold() for payee in payees(connection, sealer)):
        raise Conflict(f"there already is a payee named {name!r}")
    current = budget(connection, sealer)
    if current is not None and isinstance(rule, Fixed):
        to_minor(rule.amount, current.currency, "the fixed amount")
    details = {
        "name": name,
        "rule": rule.as_json(),
        "endpoint": _checked_url(endpoint),
        "terms": _checked_terms(terms),
    }
    payee_id = int(
        connection.execute(
            text(
                "INSERT INTO payees (sealed_payee, created_at) VALUES (:blank, :now) RETURNING id"
            ),
            {"blank": b"", "now": now},
        ).scalar_one()
    )
    _seal(connection, sealer, payee_id, details)
    audit.append(
        connection,
        sealer,
        kind="payee.added",
        details={"payee": payee_id, "name": name, "rule": rule.as_json()},
        now=now,
    )
    return get_payee(connection, sealer, payee_id)


def payees(connection: Connection, sealer: Sealer, *, removed: bool = False) -> list[Payee]:
    """The payees, by number (removed ones too, if asked)."""
    rows = connection.execute(
        text(
            "SELECT id, sealed_payee, created_at, removed_at FROM payees"
            " WHERE :removed OR removed_at IS NULL ORDER BY id"
        ),
        {"removed": removed},
    ).all()
    return [_payee(sealer, row) for row in rows]


def get_payee(connection: Connection, sealer: Sealer, payee_id: int) -> Payee:
    """The payee with this number, removed or not.

    Raises:
        NotFound: there is none.
    """
    row = connection.execute(
        text("SELECT id, sealed_payee, created_at, removed_at FROM payees WHERE id = :id"),
        {"id": payee_id},
    ).first()
    if row is None:
        raise NotFound(f"no payee {payee_id}")
    return _payee(sealer, row)


def remove_payee(connection: Connection, sealer: Sealer, payee_id: int, *, now: float) -> Payee:
    """Take a payee out of the months not planned yet (its past payments stay).

    Raises:
        NotFound: there is no such payee, or it was removed already.
    """
    payee = get_payee(connection, sealer, payee_id)
    if payee.removed_at is not None:
        raise NotFound(f"no payee {payee_id}: it was removed")
    connection.execute(
        text("UPDATE payees SET removed_at = :now WHERE id = :id"), {"now": now, "id": payee_id}
    )
    audit.append(
        connection,
        sealer,
        kind="payee.removed",
        details={"payee": payee_id, "name": payee.name},
        now=now,
    )
    return get_payee(connection, sealer, payee_id)


def check_account(account: str | None) -> str | None:
    """``account`` when it names a provider account (``acct_…``); None for none.

    Raises:
        ValueError: it does not.
    """
    if account is None or not account.strip():
        return None
    said = account.strip()
    if not _ACCOUNT.fullmatch(said) or len(said) > MAX_ACCOUNT_CHARS:
        raise ValueError(
            f"a payee's account is a Stripe connected account id, e.g. acct_1Nv0FGQ9RKHgCVdK "
            f"(got {account!r})"
        )
    return said


def set_account(
    connection: Connection, sealer: Sealer, payee_id: int, account: str | None, *, now: float
) -> Payee:
    """Make ``account`` the provider account ``payee_id`` is paid to (None: no account).

    Raises:
        NotFound: there is no such payee, or it was removed.
        ValueError: ``account`` is not an account id.
    """
    account = check_account(account)
    row = connection.execute(
        text("SELECT sealed_payee, removed_at FROM payees WHERE id = :id"), {"id": payee_id}
    ).first()
    if row is None or row.removed_at is not None:
        raise NotFound(f"no payee {payee_id}" + ("" if row is None else ": it was removed"))
    details = json.loads(sealer.open_text(row.sealed_payee, _place(payee_id)))
    details["account"] = account
    _seal(connection, sealer, payee_id, details)
    audit.append(
        connection,
        sealer,
        kind="payee.account",
        details={"payee": payee_id, "name": details["name"], "account": account},
        now=now,
    )
    return get_payee(connection, sealer, payee_id)


# uses


def log_use(
    connection: Connection,
    sealer: Sealer,
    *,
    payee_id: int,
    units: str | Decimal,
    month: str,
    note: str | None,
    now: float,
) -> Use:
    """Log units of a per-use payee for a month not paid yet.

    Raises:
        NotFound: no such payee (or removed).
        Conflict: the payee is not paid per use, or the month is planned already.
        ValueError: units not more than zero, a month or note that does not fit.
    """
    payee = get_payee(connection, sealer, payee_id)
    if payee.removed_at is not None:
        raise NotFound(f"no payee {payee_id}: it was removed")
    if not isinstance(payee.rule, PerUse):
        raise Conflict(f"payee {payee_id} ({payee.name}) is not paid per use")
    month = check_month(month)
    if connection.execute(
        text("SELECT 1 FROM payment_months WHERE month = :month"), {"month": month}
    ).first():
        raise Conflict(f"{month} is paid already: its uses can no longer change")
    amount = parse_decimal(units, "units")
    if amount <= 0:
        raise ValueError("units are more than zero")
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE_CHARS:
        raise ValueError(f"a note holds at most {MAX_NOTE_CHARS:,} characters")
    use_id = int(
        connection.execute(
            text(
                "INSERT INTO payment_uses (payee_id, month, sealed_use, logged_at)"
                " VALUES (:payee, :month, :blank, :now) RETURNING id"
            ),
            {"payee": payee_id, "month": month, "blank": b"", "now": now},
        ).scalar_one()
    )
    sealed = sealer.seal_text(
        json.dumps({"units": str(amount), "note": note}), _use_place(use_id, payee_id, month)
    )
    connection.execute(
        text("UPDATE payment_uses SET sealed_use = :sealed WHERE id = :id"),
        {"sealed": sealed, "id": use_id},
    )
    return Use(use_id, payee_id, month, amount, note, now)


def uses(connection: Connection, sealer: Sealer, month: str) -> list[Use]:
    """The uses logged for ``month``, in the order they were logged."""
    rows = connection.execute(
        text(
            "SELECT id, payee_id, month, sealed_use, logged_at FROM payment_uses"
            " WHERE month = :month ORDER BY id"
        ),
        {"month": check_month(month)},
    ).all()
    found = []
    for row in rows:
        data = json.loads(
            sealer.open_text(row.sealed_use, _use_place(row.id, row.payee_id, row.month))
        )
        found.append(
            Use(
                row.id, row.payee_id, row.month, Decimal(data["units"]), data["note"], row.logged_at
            )
        )
    return found


def units_by_payee(logged: list[Use]) -> dict[int, Decimal]:
    """The units logged per payee, added up exactly."""
    totals: dict[int, Decimal] = {}
    for use in logged:
        totals[use.payee_id] = totals.get(use.payee_id, Decimal(0)) + use.units
    return totals


def _payee(sealer: Sealer, row: Any) -> Payee:
    data = json.loads(sealer.open_text(row.sealed_payee, _place(row.id)))
    return Payee(
        id=row.id,
        name=data["name"],
        rule=rule_from_json(data["rule"]),
        endpoint=data["endpoint"],
        terms=tuple(data["terms"]),
        created_at=row.created_at,
        removed_at=row.removed_at,
        account=data.get("account"),
    )


def _checked_url(endpoint: str | None) -> str | None:
    if endpoint is None or not endpoint.strip():
        return None
    url = endpoint.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > MAX_URL_CHARS:
        raise ValueError(f"an endpoint is an http or https URL (got {endpoint!r})")
    return url


def _checked_terms(terms: list[str]) -> list[str]:
    kept: list[str] = []
    for term in terms:
        said = " ".join(term.split())
        if not said or len(said) > MAX_TERM_CHARS:
            raise ValueError(f"a term is 1 to {MAX_TERM_CHARS} characters")
        if said not in kept:
            kept.append(said)
    if len(kept) > MAX_TERMS:
        raise ValueError(f"a payee carries at most {MAX_TERMS} terms")
    return kept


def _seal(connection: Connection, sealer: Sealer, payee_id: int, details: dict[str, Any]) -> None:
    """Keep the payee's ``details`` sealed in its row, bound to it."""
    connection.execute(
        text("UPDATE payees SET sealed_payee = :sealed WHERE id = :id"),
        {"sealed": sealer.seal_text(json.dumps(details), _place(payee_id)), "id": payee_id},
    )


def _place(payee_id: int) -> str:
    return f"payees/{payee_id}"


def _use_place(use_id: int, payee_id: int, month: str) -> str:
    return f"payment_uses/{use_id}/{payee_id}/{month}"
