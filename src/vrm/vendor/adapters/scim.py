"""Forwards customer changes to a CRM's SCIM 2.0 service as User resources (RFC 7643/7644).

Each customer is one ``User`` whose ``userName`` and ``externalId`` are the
person's pairwise DID. The user is found with the filter ``externalId eq "DID"``
before it is created, so a retry after a lost answer does not create a second
one; a ``409`` (``uniqueness``) on creation also means it exists, and it is then
found by ``userName`` and given the ``externalId``.

====================  ====================================================
change                SCIM request
====================  ====================================================
``customer.created``  ``POST /Users`` (``active: true``) unless found; an
                      inactive user is made active again (a new relationship)
``customer.updated``  ``PATCH /Users/{id}`` (RFC 7644 §3.5.2); the user is
                      created first if missing
``customer.revoked``  ``PATCH``: the named attributes are removed
``customer.ended``    ``PATCH``: ``active`` set to false
``customer.deleted``  ``DELETE /Users/{id}`` (the record was erased); a user
                      already gone (not found, or ``404``) counts as deleted
====================  ====================================================

Fields map onto the core User schema:

==================  =====================================================
field               User attribute
==================  =====================================================
``name.given``      ``name.givenName``
``name.family``     ``name.familyName``
``name.full``       ``name.formatted`` and ``displayName``
``name.nickname``   ``nickName``
``email.LABEL``     the ``emails`` entry of ``type`` LABEL
``phone.LABEL``     the ``phoneNumbers`` entry of ``type`` LABEL
``address.LABEL``   the ``addresses`` entry of ``type`` LABEL: ``streetAddress``
                    (a P.O. box on a line of its own), ``locality``, ``region``,
                    ``postalCode``, ``country``, and ``formatted``
``language``        ``preferredLanguage``
``birth_date``      ignored: the core User schema has no place for it
``preference.KEY``  ignored, likewise
==================  =====================================================

The label is the entry's ``type`` as the person wrote it. RFC 7643 §2.3.1 makes
``canonicalValues`` (work, home, other; mobile, fax, pager for phones) a
suggestion that a service provider *may* enforce; scim2-server keeps any type
(scim2-models reads types as an open set), so a label such as ``shipping`` or
the person's own stays readable in the CRM instead of collapsing into ``other``
(addresses have no ``display`` to carry it elsewhere). The label ``primary``
also sets the entry's ``primary`` flag. A CRM that does restrict types answers
``400 invalidValue``: a permanent failure.

Updates are computed from the user as the CRM holds it: a multi-valued entry is
replaced by removing the entry of that type and adding the new one in the same
PATCH (atomic, and no sub-attribute of the old address survives); a cleared or
revoked field removes its attribute or entry when present; a value the CRM
already holds sends nothing. Replaying a change therefore leaves the user as it
was, whatever the event ids.

Network errors, timeouts, 5xx, 408 and 429 are retryable failures; any other
answer (a wrong base URL's 404, a refused token's 401, a refused value's 400)
is permanent.

The requests go through scim2-client rather than a hand-written client: it
builds the search, creation and PATCH messages from scim2-models' ``User``,
checks every attribute path and response against the schema, and turns SCIM
error responses into exceptions carrying their status. It is engine-agnostic;
the engine it ships needs httpx2, which this project does not use, so
:class:`_HttpxScimClient` is the few lines that send its requests through httpx.
Attributes the CRM adds (extensions, custom schemas) are ignored when read and
never sent back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import httpx
from pydantic import ValidationError
from scim2_client import BaseAsyncSCIMClient, RequestNetworkException, SCIMClientException
from scim2_models import (
    ListResponse,
    PatchOp,
    SCIMException,
    ScimPolicy,
    ScimProvider,
    SearchRequest,
    UniquenessException,
    User,
)

from vrm.vendor.adapters.base import AdapterError, ChangeKind, CustomerChange

SCIM_HEADERS = {"Accept": "application/scim+json", "Content-Type": "application/scim+json"}
SERVICE = ScimProvider(models=[User], policy=ScimPolicy(unknown=ScimPolicy.Unknown.ignore))
"""The CRM as the client sees it: the core User at ``/Users``, extra attributes ignored."""
RETRYABLE_STATUSES = frozenset({408, 429})
"""Client errors worth retrying, besides every 5xx."""

NAME_ATTRIBUTES = {
    "given": ("name.givenName",),
    "family": ("name.familyName",),
    "full": ("name.formatted", "displayName"),
    "nickname": ("nickName",),
}
"""``name.<part>`` → the User attributes that carry it."""
MULTI_VALUED_ATTRIBUTES = {"email": "emails", "phone": "phoneNumbers", "address": "addresses"}
"""Labelled field kind → the multi-valued User attribute holding one entry per label."""
PRIMARY_LABEL = "primary"

UserResource = User[Any]
"""The core User, with whatever extensions (none are sent)."""
Operation = dict[str, Any]
"""One PATCH operation (RFC 7644 §3.5.2) as JSON."""


class _HttpxScimClient(BaseAsyncSCIMClient):
    """scim2-client's checks and models, sending its requests through an httpx client."""

    def __init__(self, http: httpx.AsyncClient, provider: ScimProvider) -> None:
        super().__init__(provider=provider)
        self.http = http

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request; a network failure or timeout becomes RequestNetworkException."""
        try:
            return await self.http.request(method, url, **kwargs)
        except httpx.RequestError as exc:
            raise RequestNetworkException(message=f"{type(exc).__name__}: {exc}") from exc


class ScimAdapter:
    """Keeps one SCIM User per customer in the CRM's SCIM service.

    Args:
        name: the adapter's name within the endpoint.
        base_url: the SCIM service root, under which ``/Users`` is served
            (``https://crm.example/scim/v2``).
        token: sent as ``Authorization: Bearer TOKEN`` when given.
        timeout: seconds allowed for connecting and for each read or write.
    """

    def __init__(
        self, *, name: str, base_url: str, token: str | None = None, timeout: float = 10.0
    ) -> None:
        self.name = name
        headers = dict(SCIM_HEADERS)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=httpx.Timeout(timeout)
        )
        self._scim = _HttpxScimClient(self._http, SERVICE)

    async def deliver(self, change: CustomerChange) -> None:
        """Apply one change to the customer's User; raise AdapterError when it did not."""
        try:
            await self._apply(change)
        except (SCIMClientException, SCIMException) as exc:
            raise delivery_error(exc) from exc
        except ValidationError as exc:
            raise AdapterError(f"SCIM payload refused: {exc}", retryable=False) from exc

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    async def _apply(self, change: CustomerChange) -> None:
        appliers = {
            ChangeKind.CREATED: self._created,
            ChangeKind.UPDATED: self._updated,
            ChangeKind.REVOKED: self._revoked,
            ChangeKind.ENDED: self._ended,
            ChangeKind.DELETED: self._deleted,
        }
        await appliers[change.kind](change.customer, change.fields)

    async def _created(self, did: str, fields: Mapping[str, Any]) -> None:
        """Find or create the user; make it active again; apply any fields given."""
        user = await self._ensure_user(did)
        reactivation = [] if user.get("active") is not False else [_replace("active", True)]
        await self._patch(did, user, [*reactivation, *patch_operations(fields, user)])

    async def _updated(self, did: str, fields: Mapping[str, Any]) -> None:
        user = await self._ensure_user(did)
        await self._patch(did, user, patch_operations(fields, user))

    async def _revoked(self, did: str, fields: Mapping[str, Any]) -> None:
        user = await self._find_user("externalId", did)
        if user is not None:
            await self._patch(did, user, patch_operations(dict.fromkeys(fields), user))

    async def _ended(self, did: str, fields: Mapping[str, Any]) -> None:
        user = await self._find_user("externalId", did)
        if user is not None and user.get("active") is not False:
            await self._patch(did, user, [_replace("active", False)])

    async def _deleted(self, did: str, fields: Mapping[str, Any]) -> None:
        """Delete the customer's user; one already gone counts as deleted."""
        user = await self._find_user("externalId", did) or await self._find_user("userName", did)
        if user is None:
            return
        try:
            await self._scim.delete(User, str(user["id"]))
        except (SCIMClientException, SCIMException) as exc:
            if _http_status(exc) != 404:  # 404: deleted meanwhile (a retry, another client)
                raise

    async def _find_user(self, attribute: str, value: str) -> dict[str, Any] | None:
        """The first user whose ``attribute`` equals ``value``, as SCIM JSON; None if none."""
        search = SearchRequest[UserResource].model_validate(
            {"filter": f"{attribute} eq {json.dumps(value)}"}
        )
        found = await self._scim.query(User, query_parameters=search)
        if not isinstance(found, ListResponse) or not found.resources:
            return None
        user: UserResource = found.resources[0]
        return user.model_dump()

    async def _ensure_user(self, did: str) -> dict[str, Any]:
        """The customer's user, created (active) if the CRM has none."""
        existing = await self._find_user("externalId", did)
        if existing is not None:
            return existing
        try:
            created: object = await self._scim.create(
                UserResource(user_name=did, external_id=did, active=True)
            )
        except UniquenessException:
            # Created meanwhile, or a user already holds the userName.
            existing = await self._find_user("externalId", did) or await self._find_user(
                "userName", did
            )
            if existing is None:
                raise AdapterError(
                    f"the SCIM service reports userName {did} taken but finds no such user",
                    retryable=False,
                ) from None
            return existing
        if not isinstance(created, User):
            raise AdapterError("the SCIM service answered a creation with no user", retryable=False)
        return created.model_dump()

    async def _patch(self, did: str, user: Mapping[str, Any], operations: list[Operation]) -> None:
        """Send ``operations`` to ``user``, setting its externalId if it lacks it; skip if none."""
        if user.get("externalId") != did:
            operations = [_replace("externalId", did), *operations]
        if not operations:
            return
        patch = PatchOp[UserResource].model_validate({"Operations": operations})
        await self._scim.modify(User, str(user["id"]), patch)


def delivery_error(exc: SCIMClientException | SCIMException) -> AdapterError:
    """The AdapterError for a failed request: retryable on network errors, 5xx, 408 and 429."""
    if isinstance(exc, RequestNetworkException):
        return AdapterError(f"SCIM service unreachable: {exc}", retryable=True)
    status = _http_status(exc)
    if status is None:
        return AdapterError(f"SCIM request not sent: {exc}", retryable=False)
    retryable = status >= 500 or status in RETRYABLE_STATUSES
    return AdapterError(f"SCIM service answered {status}: {exc}", retryable=retryable)


def _http_status(exc: SCIMClientException | SCIMException) -> int | None:
    """The status of the response behind ``exc``; None when no request got an answer."""
    status = getattr(getattr(exc, "source", None), "status_code", None)
    return status if isinstance(status, int) else None


def patch_operations(fields: Mapping[str, Any], user: Mapping[str, Any]) -> list[Operation]:
    """The PATCH operations bringing ``user`` (SCIM JSON) to the field values (None: clear)."""
    operations: list[Operation] = []
    for path, value in fields.items():
        operations.extend(_field_operations(path, value, user))
    return operations


def _field_operations(path: str, value: Any, user: Mapping[str, Any]) -> list[Operation]:
    kind, _, label = path.partition(".")
    if kind == "name" and label in NAME_ATTRIBUTES:
        return _single_valued_operations(NAME_ATTRIBUTES[label], value, user)
    if kind == "language" and not label:
        return _single_valued_operations(("preferredLanguage",), value, user)
    if kind in MULTI_VALUED_ATTRIBUTES and label:
        entry = None if value is None else _entry(kind, label, value)
        return _labelled_entry_operations(MULTI_VALUED_ATTRIBUTES[kind], label, entry, user)
    return []  # birth_date, preference.*: the core User schema has no place for them


def _single_valued_operations(
    attributes: Iterable[str], value: Any, user: Mapping[str, Any]
) -> list[Operation]:
    operations: list[Operation] = []
    for attribute in attributes:
        held = _attribute_value(user, attribute)
        if value is None and held is not None:
            operations.append({"op": "remove", "path": attribute})
        elif value is not None and held != value:
            operations.append(_replace(attribute, value))
    return operations


def _labelled_entry_operations(
    attribute: str, label: str, entry: dict[str, Any] | None, user: Mapping[str, Any]
) -> list[Operation]:
    """Remove the entries typed ``label`` and add ``entry``, unless already held as such."""
    held = [item for item in user.get(attribute) or [] if _is_typed(item, label)]
    if entry is not None and held == [entry]:
        return []
    operations: list[Operation] = []
    if held:
        operations.append({"op": "remove", "path": f"{attribute}[type eq {json.dumps(label)}]"})
    if entry is not None:
        operations.append({"op": "add", "path": attribute, "value": [entry]})
    return operations


def _is_typed(item: Any, label: str) -> bool:
    """Whether a multi-valued entry has type ``label`` (types are case-insensitive)."""
    kind = item.get("type") if isinstance(item, Mapping) else None
    return isinstance(kind, str) and kind.casefold() == label.casefold()


def _entry(kind: str, label: str, value: Any) -> dict[str, Any]:
    """The multi-valued entry for ``kind.label`` = ``value``."""
    entry = scim_address(value) if kind == "address" else {"value": value}
    entry["type"] = label
    if label == PRIMARY_LABEL:
        entry["primary"] = True
    return entry


def scim_address(postal: Mapping[str, str]) -> dict[str, Any]:
    """A SCIM address entry (without type) for a schema.org PostalAddress."""
    street_lines = [postal.get("streetAddress"), _po_box_line(postal.get("postOfficeBoxNumber"))]
    street = "\n".join(line for line in street_lines if line)
    address = {
        "streetAddress": street,
        "locality": postal.get("addressLocality"),
        "region": postal.get("addressRegion"),
        "postalCode": postal.get("postalCode"),
        "country": postal.get("addressCountry"),
    }
    address["formatted"] = _formatted(address)
    return {key: part for key, part in address.items() if part}


def _po_box_line(number: str | None) -> str | None:
    """``PO Box 123`` for a bare number; the text as written otherwise."""
    if not number:
        return None
    return f"PO Box {number}" if number[0].isdigit() else number


def _formatted(address: Mapping[str, str | None]) -> str:
    """The address as mailing-label lines, in RFC 7643's own example layout."""
    region_and_code = " ".join(part for part in (address["region"], address["postalCode"]) if part)
    town_line = ", ".join(part for part in (address["locality"], region_and_code) if part)
    lines = (address["streetAddress"], town_line, address["country"])
    return "\n".join(line for line in lines if line)


def _attribute_value(user: Mapping[str, Any], attribute: str) -> Any:
    """The value at a dotted attribute path (``name.givenName``), None when absent."""
    value: Any = user
    for part in attribute.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _replace(attribute: str, value: Any) -> Operation:
    return {"op": "replace", "path": attribute, "value": value}
