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

    [receipts]
    on_offer_accept = true               # an accepted offer gets a receipt, payment due

    [[adapters]]
    type = "scim"
    base_url = "https://crm.grocer.example/scim/v2"
    token = "…"

    [[adapters]]
    type = "webhook"
    name = "billing"
    url = "https://billing.grocer.example/hooks/vrm"
    secret = "whsec_…"

    [[exchanges]]                        # intent exchanges: people's intents in, offers out
    url = "https://exchange.example"
    categories = ["food/groceries"]      # category prefixes of vrm's taxonomy
    regions = ["GB-SCT"]                 # ISO 3166; none: everywhere
    push = true                          # false: fetch every pull_interval seconds
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from vrm.intents.taxonomy import UnknownCategory, taxonomy
from vrm.protocol.v1.intents import Amount, Subscription
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


class ReceiptSettings(_Strict):
    """The receipts the endpoint sends on its own."""

    on_offer_accept: bool = True
    """Send a receipt (payment due) for each offer a customer accepted."""


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

_REGION = re.compile(r"[A-Z]{2}(-[A-Z0-9]{1,3})?")
_CURRENCY = re.compile(r"[A-Z]{3}")


class ExchangeSettings(_Strict):
    """One intent exchange: what to hear about there, and whether it pushes or is pulled."""

    url: Url
    """The exchange's base URL (its discovery document is at ``/.well-known/vrm``)."""
    categories: Annotated[list[str], Field(min_length=1, max_length=64)]
    """Category paths of vrm's taxonomy; each takes in everything under it."""
    regions: Annotated[list[str], Field(max_length=64)] = []
    """ISO 3166 countries (``GB``) or subdivisions (``GB-SCT``); none: everywhere."""
    min_price: Amount | None = None
    max_price: Amount | None = None
    currency: str | None = None
    """ISO 4217; with it, only intents in that currency whose price range meets the band."""
    push: bool = True
    """True: the exchange pushes to ``<public_url>/inbox``; False: the endpoint fetches."""
    pull_interval: Annotated[float, Field(ge=1, le=24 * 3600)] = 30.0
    """Seconds between fetches when ``push`` is false."""

    @field_validator("url")
    @classmethod
    def _base(cls, url: str) -> str:
        return url.rstrip("/")

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, paths: list[str]) -> list[str]:
        known = []
        for path in paths:
            try:
                known.append(taxonomy().category(path).path)
            except UnknownCategory as exc:
                raise ValueError(str(exc)) from None
        return list(dict.fromkeys(known))

    @field_validator("regions")
    @classmethod
    def _iso_regions(cls, regions: list[str]) -> list[str]:
        upper = [region.strip().upper() for region in regions]
        wrong = [
            given for given, code in zip(regions, upper, strict=True) if not _REGION.fullmatch(code)
        ]
        if wrong:
            raise ValueError(
                f"{', '.join(map(repr, wrong))}: give ISO 3166 codes, a country (GB) or a "
                "subdivision (GB-SCT)"
            )
        return list(dict.fromkeys(upper))

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, currency: str | None) -> str | None:
        if currency is None:
            return None
        if not _CURRENCY.fullmatch(currency.strip().upper()):
            raise ValueError(f"{currency!r} is not an ISO 4217 currency code (EUR, GBP, USD…)")
        return currency.strip().upper()

    @model_validator(mode="after")
    def _price_band(self) -> ExchangeSettings:
        priced = self.min_price is not None or self.max_price is not None
        if priced and self.currency is None:
            raise ValueError("min_price and max_price need a currency")
        if (
            self.min_price is not None
            and self.max_price is not None
            and self.min_price > self.max_price
        ):
            raise ValueError("min_price is above max_price")
        return self

    def subscription(self) -> Subscription:
        """The subscription these settings describe, as ``exchange.subscribe`` carries it."""
        return Subscription(
            categories=self.categories,
            regions=self.regions,
            minPrice=self.min_price,
            maxPrice=self.max_price,
            priceCurrency=self.currency,
        )


class VendorSettings(_Strict):
    """Everything a vendor endpoint is told."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    public_url: Url | None = None
    database: str | None = None
    policy: PolicySettings = PolicySettings()
    terms: TermsSettings = TermsSettings()
    receipts: ReceiptSettings = ReceiptSettings()
    adapters: list[AdapterSettings] = []
    allow_loopback: bool = False
    """Let answers reach people's inboxes on this machine (tests, demos)."""
    allow_private: bool = False
    delivery_max_age: Annotated[float, Field(gt=0, le=29 * 24 * 3600)] = DEFAULT_MAX_AGE
    exchanges: list[ExchangeSettings] = []
    """The intent exchanges the endpoint subscribes at."""

    @field_validator("exchanges")
    @classmethod
    def _exchanges_reach_back(
        cls, exchanges: list[ExchangeSettings], info: ValidationInfo
    ) -> list[ExchangeSettings]:
        if exchanges and not info.data.get("public_url"):
            raise ValueError(
                "set public_url: offers name it as the vendor's address, and exchanges "
                "push to <public_url>/inbox"
            )
        urls = [exchange.url for exchange in exchanges]
        twice = sorted({url for url in urls if urls.count(url) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} is given twice: one [[exchanges]] per exchange")
        return exchanges

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
