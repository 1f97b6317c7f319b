"""Reading the Vendors pages' forms: a vendor's address, the grant form, numbers in paths.

No web framework here: each function takes what was submitted and says, in words
for the person, what is wrong with it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_URL = 2000
MAX_PURPOSE = 1024


@dataclass
class GrantForm:
    """The grant form as the person filled it in, and what is wrong with it, by input."""

    path: str = ""
    purpose: str = ""
    until: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, fields: dict[str, str], *, today: dt.date) -> tuple[GrantForm, dt.date | None]:
        """The form from the submitted ``fields``, and the end date it gives (None: none)."""
        form = cls(
            fields.get("field", "").strip(),
            fields.get("purpose", "").strip(),
            fields.get("until", "").strip(),
        )
        if not form.path:
            form.errors["field"] = "Choose the field to grant."
        if not form.purpose:
            form.errors["purpose"] = "Say what the vendor may use it for."
        elif len(form.purpose) > MAX_PURPOSE:
            form.errors["purpose"] = f"Say it in at most {MAX_PURPOSE} characters."
        until = None
        if form.until:
            try:
                until = dt.date.fromisoformat(form.until)
            except ValueError:
                form.errors["until"] = "Give a date like 2030-12-31, or leave it empty."
            else:
                if until < today:
                    form.errors["until"] = "Give today's date or a later one."
        return form, until


def record_number(text: str) -> int | None:
    """``text`` as a record number; None when it is not one."""
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        return None
    return int(text)


def url_problem(url: str) -> str | None:
    """What is wrong with ``url`` as a vendor's address; None when nothing is."""
    if not url:
        return "Give the vendor's address, such as https://shop.example."
    if len(url) > MAX_URL:
        return f"That address is longer than {MAX_URL} characters."
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        return "That is not a web address: give one starting with https:// (or http://)."
    if any(c.isspace() for c in url):
        return "A web address has no spaces in it."
    return None


def unreachable(url: str, reason: str) -> str:
    """Why adding the vendor at ``url`` failed, and where to allow local addresses."""
    said = (
        f"No vendor answered at {url} ({reason}). Check the address, or try again later. "
        "Nothing was added."
    )
    if "loopback" in reason or "private" in reason:
        said += (
            " Vendors on this machine or on a private network are reached only when your "
            "Settings allow it."
        )
    return said
