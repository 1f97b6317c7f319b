"""Field paths and the values each kind of field takes.

A path names one field and never changes meaning, so grants and the CLI can use
it: ``name.given``, ``email.primary``, ``address.home``, ``preference.shoe_size``.

=================  =====================================  ============================
path               value                                  label
=================  =====================================  ============================
``name.<part>``    text                                   given, family, full, nickname
``email.<label>``  an e-mail address                      primary, work, home, or own
``phone.<label>``  a phone number                         mobile, home, work, or own
``address.<label>`` a schema.org PostalAddress            home, work, shipping,
                                                          billing, or own
``birth_date``     an ISO date (not in the future)        —
``language``       a BCP 47 language tag                  —
``preference.<key>`` text                                 the person's own key
=================  =====================================  ============================
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

LABEL = re.compile(r"[a-z][a-z0-9_-]{0,31}")
NAME_PARTS = ("given", "family", "full", "nickname")
SUGGESTED_LABELS = {
    "email": ("primary", "work", "home"),
    "phone": ("mobile", "home", "work"),
    "address": ("home", "work", "shipping", "billing"),
}
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s.]{2,63}")
_PHONE = re.compile(r"\+?[0-9][0-9 ().-]{2,30}")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
Text = Annotated[str, Field(min_length=1, max_length=500)]


class InvalidField(ValueError):
    """A path that names no field, or a value the field does not take."""

    code = "invalid_field"


class PostalAddress(BaseModel):
    """A postal address in schema.org's ``PostalAddress`` vocabulary."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    streetAddress: Text | None = None
    postOfficeBoxNumber: Text | None = None
    addressLocality: Text | None = None
    addressRegion: Text | None = None
    postalCode: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    addressCountry: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None

    def is_empty(self) -> bool:
        """True when no part is given."""
        return not any(self.model_dump().values())


def check_path(path: str) -> str:
    """Return ``path`` if it names a field; raise :class:`InvalidField` if not."""
    kind, _, label = path.partition(".")
    if kind in ("birth_date", "language") and not label:
        return path
    if kind == "name" and label in NAME_PARTS:
        return path
    if kind in ("email", "phone", "address", "preference") and LABEL.fullmatch(label):
        return path
    raise InvalidField(
        f"{path!r} is not a profile field: use name.given|family|full|nickname, "
        "email.LABEL, phone.LABEL, address.LABEL, birth_date, language or preference.KEY"
    )


def check_value(path: str, value: Any, *, today: dt.date | None = None) -> Any:
    """Return the canonical JSON value for ``path``; raise :class:`InvalidField` if wrong."""
    kind = check_path(path).partition(".")[0]
    if kind == "address":
        return _address(path, value)
    if not isinstance(value, str) or not value.strip():
        raise InvalidField(f"{path} takes text")
    value = value.strip()
    if len(value) > 500:
        raise InvalidField(f"{path} is longer than 500 characters")
    checks = {"email": _EMAIL, "phone": _PHONE, "language": _LANGUAGE}
    if kind in checks and not checks[kind].fullmatch(value):
        raise InvalidField(f"{value!r} is not a valid {kind.replace('_', ' ')}")
    if kind == "birth_date":
        return _birth_date(value, today or dt.date.today())
    return value


def _address(path: str, value: Any) -> dict[str, str]:
    try:
        address = PostalAddress.model_validate(value)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"])
        if not where:
            raise InvalidField(
                f'{path} takes a JSON object such as {{"streetAddress": "1 Main St", '
                '"postalCode": "12345", "addressCountry": "US"}'
            ) from exc
        raise InvalidField(f"{path}: {where}: {error['msg']}") from exc
    if address.is_empty():
        raise InvalidField(f"{path}: an address needs at least one part")
    return address.model_dump(exclude_none=True)


def _birth_date(value: str, today: dt.date) -> str:
    try:
        born = dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidField(f"{value!r} is not a date like 1990-04-01") from exc
    if born > today:
        raise InvalidField("a birth date cannot be in the future")
    return born.isoformat()
