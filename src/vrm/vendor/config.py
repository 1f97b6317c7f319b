"""The vendor endpoint's configuration: a TOML file, every value checked.

Example (``vrm serve vendor --config vendor.toml``)::

    name = "Corner Grocer"
    public_url = "https://vrm.grocer.example"
    database = "postgresql+psycopg://vrm@db/vrm"   # default: vendor.db in the home folder

    [policy]
    mode = "allow_list"                  # accept_all | allow_list | manual
    allowed = ["did:key:z6Mk…"]

    [terms]                              # default: every agreement and term of the library
    accepts = ["SD-BASE", "SD-BASE-DP"]
    accepts_additional = ["NoStalking", "mine-too"]
    alternative = "SD-BASE"              # offered for anything else (none: reject)
    manual = false                       # true: hold every proffer for the vendor

    [[adapters]]
    type = "scim"
    base_url = "https://crm.grocer.example/scim/v2"
    token = "…"

    [[adapters]]
    type = "webhook"
    name = "billing"
    url = "https://billing.grocer.example/hooks/vrm"
    secret = "whsec_…"
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vrm.terms import Term, VendorTermsPolicy, library
from vrm.vendor.jobs import DEFAULT_MAX_AGE
from vrm.vendor.policy import Policy, PolicyMode

if TYPE_CHECKING:
    from vrm.vendor.adapters.base import Adapter

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Url = Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=2048)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PolicySettings(_Strict):
    """How relationship requests are answered."""

    mode: PolicyMode = PolicyMode.ACCEPT_ALL
    allowed: list[str] = []

    def policy(self) -> Policy:
        """The policy these settings describe."""
        return Policy(self.mode, frozenset(self.allowed))


class TermsSettings(_Strict):
    """Which proffered terms are accepted; ids are those of the terms library."""

    accepts: list[str] | None = None
    """Agreement ids accepted as proffered; None: every agreement of the library."""
    accepts_additional: list[str] | None = None
    """Additional term ids accepted with them; None: every term of the library."""
    alternative: str | None = None
    """The agreement offered instead of terms not accepted; None: reject them."""
    manual: bool = False
    """Hold every proffer for the vendor to decide (the API's pending agreements)."""

    @field_validator("accepts")
    @classmethod
    def _known_agreements(cls, ids: list[str] | None) -> list[str] | None:
        return None if ids is None else _library_ids(ids, library().agreements, "agreement")

    @field_validator("accepts_additional")
    @classmethod
    def _known_terms(cls, ids: list[str] | None) -> list[str] | None:
        return None if ids is None else _library_ids(ids, library().terms, "additional term")

    @field_validator("alternative")
    @classmethod
    def _known_alternative(cls, term_id: str | None) -> str | None:
        if term_id is None:
            return None
        return _library_ids([term_id], library().agreements, "agreement")[0]

    def policy(self) -> VendorTermsPolicy:
        """The terms policy these settings describe."""
        every = VendorTermsPolicy.accepting_everything_in(library())
        return VendorTermsPolicy(
            accepts=every.accepts if self.accepts is None else frozenset(self.accepts),
            accepts_additional=every.accepts_additional
            if self.accepts_additional is None
            else frozenset(self.accepts_additional),
            alternative=self.alternative,
            manual=self.manual,
        )


def _library_ids(ids: list[str], known: tuple[Term, ...], what: str) -> list[str]:
    """``ids`` as the library writes them; ValueError naming those it does not have."""
    by_folded = {term.id.casefold(): term.id for term in known}
    unknown = [i for i in ids if i.casefold() not in by_folded]
    if unknown:
        names = ", ".join(sorted(by_folded.values()))
        raise ValueError(f"unknown {what} {', '.join(unknown)} (the library has {names})")
    return [by_folded[i.casefold()] for i in ids]


class WebhookSettings(_Strict):
    """Signed webhooks (Standard Webhooks) to one URL."""

    type: Literal["webhook"]
    name: Name = "webhook"
    url: Url
    secret: str


class ScimSettings(_Strict):
    """A SCIM 2.0 service (RFC 7644)."""

    type: Literal["scim"]
    name: Name = "scim"
    base_url: Url
    token: str | None = None


class CsvSettings(_Strict):
    """A CSV file, one row per field per change."""

    type: Literal["csv"]
    name: Name = "csv"
    path: Path


AdapterSettings = Annotated[
    WebhookSettings | ScimSettings | CsvSettings, Field(discriminator="type")
]


class VendorSettings(_Strict):
    """Everything a vendor endpoint is told."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    public_url: Url | None = None
    database: str | None = None
    policy: PolicySettings = PolicySettings()
    terms: TermsSettings = TermsSettings()
    adapters: list[AdapterSettings] = []
    allow_loopback: bool = False
    """Let answers reach people's inboxes on this machine (tests, demos)."""
    allow_private: bool = False
    delivery_max_age: Annotated[float, Field(gt=0, le=29 * 24 * 3600)] = DEFAULT_MAX_AGE

    @model_validator(mode="after")
    def _adapter_names_differ(self) -> VendorSettings:
        names = [adapter.name for adapter in self.adapters]
        if len(names) != len(set(names)):
            raise ValueError("two adapters have the same name: give each its own 'name'")
        return self


def load_settings(path: Path, **overrides: object) -> VendorSettings:
    """Read a TOML configuration; ``overrides`` (e.g. from the command line) win.

    Raises:
        ValueError: the file is not TOML or does not fit, with the first problem named.
    """
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path} is not valid TOML: {exc}") from exc
    document.update({key: value for key, value in overrides.items() if value is not None})
    return settings_from(document, source=str(path))


def settings_from(document: dict[str, object], *, source: str = "settings") -> VendorSettings:
    """Check a settings document; ValueError names the first problem."""
    try:
        return VendorSettings.model_validate(document)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "(top)"
        raise ValueError(f"{source}: {where}: {error['msg']}") from exc


def build_adapter(settings: AdapterSettings) -> Adapter:
    """The adapter these settings describe (each adapter's libraries load only if used)."""
    if isinstance(settings, WebhookSettings):
        from vrm.vendor.adapters.webhooks import WebhookAdapter

        return WebhookAdapter(name=settings.name, url=settings.url, secret=settings.secret)
    if isinstance(settings, ScimSettings):
        from vrm.vendor.adapters.scim import ScimAdapter

        return ScimAdapter(name=settings.name, base_url=settings.base_url, token=settings.token)
    from vrm.vendor.adapters.csv_sink import CsvAdapter

    return CsvAdapter(name=settings.name, path=settings.path)
