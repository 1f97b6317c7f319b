"""Errors of the vendor's own calls (the JSON API, the Python SDK), each with a stable code.

::

    VendorError              code, HTTP status (the API answers problem+json)
    ├── UnknownCustomer      404 not_found: no customer has this DID
    ├── UnknownProffer       404 not_found: the customer proffered no terms with this hash
    ├── UnknownIntent        404 not_found: no matched intent has this number
    ├── UnknownMembership    404 not_found: no membership has this credential id
    ├── Conflict             409 conflict: the record is not in a state for this
    │   ├── NotPending       the relationship or the proffer was already decided
    │   ├── NotAccepted      the relationship is not accepted, or the person ended it
    │   ├── Erased           the customer's record was erased
    │   └── IntentClosed     the intent was withdrawn or has expired
    ├── InvalidRequest       422 invalid_request: a value the endpoint cannot take
    ├── ExchangeRefused      502 exchange_refused: the exchange did not take an offer
    └── FeedUnusable         502 feed_unusable: a review feed could not be fetched or read

Messages from people are refused with :class:`vrm.protocol.ProtocolError` instead.
"""

from __future__ import annotations


class VendorError(Exception):
    """Root of the endpoint's errors for the vendor's calls."""

    code = "vendor_error"
    status = 400


class UnknownCustomer(VendorError, LookupError):
    """No customer has this DID."""

    code, status = "not_found", 404


class UnknownProffer(VendorError, LookupError):
    """The customer proffered no terms with this hash."""

    code, status = "not_found", 404


class Conflict(VendorError, ValueError):
    """The record is not in a state that allows this."""

    code, status = "conflict", 409


class NotPending(Conflict):
    """The relationship (or the proffer) was already decided."""


class NotAccepted(Conflict):
    """The vendor has not accepted the relationship, or the person ended it."""


class Erased(Conflict):
    """The customer's record was erased: only the tombstone is left."""


class IntentClosed(Conflict):
    """The intent was withdrawn or has expired: it takes no more offers."""


class UnknownIntent(VendorError, LookupError):
    """No matched intent has this number."""

    code, status = "not_found", 404


class UnknownMembership(VendorError, LookupError):
    """No membership has this credential id."""

    code, status = "not_found", 404


class ExchangeRefused(VendorError):
    """The exchange refused an offer, or could not be reached; the message says which."""

    code, status = "exchange_refused", 502


class FeedUnusable(VendorError):
    """A person's review feed could not be fetched, or is not a review feed; the message says."""

    code, status = "feed_unusable", 502


class InvalidRequest(VendorError, ValueError):
    """A value the endpoint cannot take (an unknown agreement, too much vendor data)."""

    code, status = "invalid_request", 422
