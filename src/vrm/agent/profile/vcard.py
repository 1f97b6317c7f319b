"""The profile as a vCard 4 (RFC 6350), and a vCard back into profile fields.

========================  ============================================
profile                   vCard
========================  ============================================
``name.full``             ``FN`` (required by vCard: built from the
                          other parts when the person set none)
``name.given/family``     ``N``
``name.nickname``         ``NICKNAME``
``email.LABEL``           ``EMAIL``  ``phone.LABEL``: ``TEL``
``address.LABEL``         ``ADR`` (street, locality, region, code, country)
``birth_date``            ``BDAY``   ``language``: ``LANG``
========================  ============================================

Labels travel as ``TYPE`` where vCard has one (home, work; cell for mobile),
``PREF=1`` for primary, and always as ``X-VRM-LABEL`` so a round trip keeps
the person's own labels. Preferences are not contact data and stay out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import vobject

from vrm.agent.profile.fields import InvalidField, check_value

MAX_VCARD_BYTES = 256 * 1024
"""The largest vCard taken as a profile (a photo included)."""

_LABEL_PARAM = "X-VRM-LABEL"
_TYPE_BY_LABEL = {"home": "home", "work": "work", "mobile": "cell"}
_LABEL_BY_TYPE = {"home": "home", "work": "work", "cell": "mobile"}


@dataclass
class ImportResult:
    """What a vCard gave: fields by path, and what was skipped and why."""

    fields: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def to_vcard(profile: dict[str, Any]) -> str:
    """Serialise a profile (path → value) as one vCard 4."""
    card = vobject.vCard()
    card.add("version").value = "4.0"
    given, family = profile.get("name.given", ""), profile.get("name.family", "")
    card.add("fn").value = profile.get("name.full") or " ".join(p for p in (given, family) if p)
    if given or family:
        card.add("n").value = vobject.vcard.Name(family=family, given=given)
    if "name.nickname" in profile:
        card.add("nickname").value = profile["name.nickname"]
    for path, value in sorted(profile.items()):
        kind, _, label = path.partition(".")
        if kind == "email":
            _labelled(card.add("email"), value, label)
        elif kind == "phone":
            _labelled(card.add("tel"), value, label)
        elif kind == "address":
            address = vobject.vcard.Address(
                box=value.get("postOfficeBoxNumber", ""),
                street=value.get("streetAddress", ""),
                city=value.get("addressLocality", ""),
                region=value.get("addressRegion", ""),
                code=value.get("postalCode", ""),
                country=value.get("addressCountry", ""),
            )
            _labelled(card.add("adr"), address, label)
    if "birth_date" in profile:
        card.add("bday").value = profile["birth_date"]
    if "language" in profile:
        card.add("lang").value = profile["language"]
    return str(card.serialize())


def from_vcard(text: str) -> ImportResult:
    """Read the first vCard in ``text`` into profile fields (each value checked)."""
    try:
        card = vobject.readOne(text)
    except Exception as exc:  # vobject raises many kinds on bad input
        raise InvalidField("not a readable vCard (BEGIN:VCARD … END:VCARD)") from exc
    if card.name != "VCARD":
        raise InvalidField("not a vCard")
    result = ImportResult()
    contents = card.contents
    given = family = ""
    if "n" in contents:
        name = contents["n"][0].value
        given, family = _text(name.given), _text(name.family)
        _take(result, "name.given", given)
        _take(result, "name.family", family)
    if "fn" in contents:
        full = str(contents["fn"][0].value).strip()
        if full != " ".join(part for part in (given, family) if part):
            _take(result, "name.full", full)
    if "nickname" in contents:
        _take(result, "name.nickname", contents["nickname"][0].value)
    for kind, line_name, default in (("email", "email", "primary"), ("phone", "tel", "mobile")):
        for line in contents.get(line_name, []):
            _take(result, f"{kind}.{_label_of(line, default)}", line.value)
    for line in contents.get("adr", []):
        address = line.value
        path = f"address.{_label_of(line, 'home')}"
        value = {
            "postOfficeBoxNumber": _text(address.box),
            "streetAddress": _text(address.street),
            "addressLocality": _text(address.city),
            "addressRegion": _text(address.region),
            "postalCode": _text(address.code),
        }
        country = _text(address.country).strip()
        if len(country) == 2 and country.isalpha():
            value["addressCountry"] = country.upper()
        elif country:
            result.skipped.append(f"{path}: country {country!r} is not an ISO 3166 code; left out")
        _take(result, path, {key: part for key, part in value.items() if part})
    if "bday" in contents:
        _take(result, "birth_date", _iso_date(str(contents["bday"][0].value)))
    if "lang" in contents:
        _take(result, "language", contents["lang"][0].value)
    return result


def _labelled(line: Any, value: Any, label: str) -> None:
    line.value = value
    if label in _TYPE_BY_LABEL:
        line.params["TYPE"] = [_TYPE_BY_LABEL[label]]
    if label == "primary":
        line.params["PREF"] = ["1"]
    line.params[_LABEL_PARAM] = [label]


def _label_of(line: Any, default: str) -> str:
    params = {key.upper(): value for key, value in line.params.items()}
    if _LABEL_PARAM in params:
        return str(params[_LABEL_PARAM][0]).lower()
    for kind in params.get("TYPE", []):
        for part in str(kind).lower().split(","):
            if part in _LABEL_BY_TYPE:
                return _LABEL_BY_TYPE[part]
    if params.get("PREF") == ["1"]:
        return "primary"
    return default


def _take(result: ImportResult, path: str, value: Any) -> None:
    if value in ("", None, {}):
        return
    if path in result.fields:
        result.skipped.append(f"{path}: a second value in the card, kept the first")
        return
    try:
        result.fields[path] = check_value(path, value)
    except InvalidField as exc:
        result.skipped.append(str(exc))


def _text(value: Any) -> str:
    return " ".join(value) if isinstance(value, list) else str(value or "")


def _iso_date(value: str) -> str:
    compact = value.replace("-", "")
    if len(compact) == 8 and compact.isdigit():
        return f"{compact[:4]}-{compact[4:6]}-{compact[6:]}"
    return value
