"""Money as the ledger keeps it: exact decimal text in, integer minor units inside.

A currency is an ISO 4217 code; its minor unit (how many decimals an amount may
have) is 2 unless the standard says otherwise (:data:`EXPONENTS`). Amounts are
:class:`~decimal.Decimal` or integers of minor units, never floats, and are written
as plain digits with an optional decimal point, so "1e9" or "NaN" never become money.
"""

from __future__ import annotations

import re
from decimal import Decimal

_ISO_4217 = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL
BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK
DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR
ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD
LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK
NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD
SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD
USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
"""
_CODES = frozenset(_ISO_4217.split())
"""ISO 4217 codes of currencies in use (list one, less precious metals and testing codes)."""

EXPONENTS = {
    **dict.fromkeys(
        ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI"], 0
    ),
    **dict.fromkeys(["VND", "VUV", "XAF", "XOF", "XPF"], 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}
"""ISO 4217 minor units that are not 2."""

DEFAULT_EXPONENT = 2
MAX_DIGITS = 15
"""At most this many digits before the decimal point: no budget is larger."""

_AMOUNT = re.compile(rf"\d{{1,{MAX_DIGITS}}}(?:\.\d{{1,18}})?")


class InvalidAmount(ValueError):
    """An amount, rate, weight or count that is not a non-negative decimal number."""


class UnknownCurrency(ValueError):
    """A currency code that is not an ISO 4217 currency in use."""


def currency_code(code: str) -> str:
    """The ISO 4217 code, upper-cased.

    Raises:
        UnknownCurrency: it is not a currency in use.
    """
    upper = code.strip().upper()
    if upper not in _CODES:
        raise UnknownCurrency(f"{code!r} is not an ISO 4217 currency code (e.g. EUR, USD, JPY)")
    return upper


def exponent(currency: str) -> int:
    """How many decimals an amount in ``currency`` has (its ISO 4217 minor unit)."""
    return EXPONENTS.get(currency_code(currency), DEFAULT_EXPONENT)


def parse_decimal(value: str | Decimal | int, what: str = "an amount") -> Decimal:
    """A non-negative decimal from text such as ``"12.50"`` (a Decimal or int passes through).

    Raises:
        InvalidAmount: anything else: a sign, an exponent, NaN, too many digits.
    """
    text = str(value).strip()
    if not _AMOUNT.fullmatch(text):
        raise InvalidAmount(
            f"{what} is digits with an optional decimal point, e.g. 12.50 (got {str(value)!r})"
        )
    return Decimal(text)


def to_minor(amount: Decimal, currency: str, what: str = "an amount") -> int:
    """``amount`` in minor units of ``currency`` (12.50 EUR → 1250), exactly.

    Raises:
        InvalidAmount: it is negative or has more decimals than the currency has.
    """
    if not amount.is_finite() or amount < 0:
        raise InvalidAmount(f"{what} cannot be negative (got {amount})")
    places = exponent(currency)
    minor = amount.scaleb(places)
    if minor != minor.to_integral_value():
        raise InvalidAmount(
            f"{what} {amount} has more decimals than {currency_code(currency)} has ({places})"
        )
    return int(minor)


def from_minor(minor: int, currency: str) -> Decimal:
    """Minor units back to an amount with the currency's decimals (1250 EUR → 12.50)."""
    places = exponent(currency)
    return Decimal(minor).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def format_minor(minor: int, currency: str) -> str:
    """An amount for people: ``12.50 EUR``."""
    return f"{from_minor(minor, currency)} {currency_code(currency)}"
