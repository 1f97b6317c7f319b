"""Demand signals from an exchange, and the bar charts the console draws of them.

An exchange publishes, for each closed UTC day, how many intents were published
under a category prefix — counts per category and country, and per price band —
with differentially private noise and the small cells left out
(:mod:`vrm.exchange.signals`). :func:`fetch_release` asks it for one day and
checks what comes back; :func:`bar_chart` lays a table of counts out as bars, so
that the page can draw it as SVG on the server, with no script.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vrm.transport.client import Transport, TransportError

SIGNALS_PATH = "/signals"
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
Count = Annotated[int, Field(ge=0)]


class Cell(BaseModel):
    """Intents of one category in one country."""

    model_config = ConfigDict(extra="ignore")

    category: str
    country: str
    count: Count


class PriceCell(BaseModel):
    """Intents whose highest price falls in one band of one currency."""

    model_config = ConfigDict(extra="ignore")

    currency: str
    band: str
    count: Count


class Suppressed(BaseModel):
    """About how many cells of each table were under the threshold (a noisy estimate)."""

    model_config = ConfigDict(extra="ignore")

    counts: Count = 0
    prices: Count = 0


class Privacy(BaseModel):
    """How the release was protected."""

    model_config = ConfigDict(extra="ignore")

    epsilon: float
    threshold: int


class Release(BaseModel):
    """One day's demand under a category prefix, as the exchange released it."""

    model_config = ConfigDict(extra="ignore")

    period: str
    category: str | None = None
    counts: list[Cell]
    prices: list[PriceCell]
    suppressed: Suppressed = Suppressed()
    privacy: Privacy

    def per_category(self) -> list[CategoryDemand]:
        """Intents per category, all countries together; the most asked for first."""
        totals: Counter[str] = Counter()
        countries: dict[str, list[Cell]] = {}
        for cell in self.counts:
            totals[cell.category] += cell.count
            countries.setdefault(cell.category, []).append(cell)
        return [
            CategoryDemand(category, total, countries[category])
            for category, total in sorted(totals.items(), key=lambda item: (-item[1], item[0]))
        ]

    def per_price_band(self) -> list[tuple[str, int]]:
        """Intents per currency and price band, in the exchange's order (lowest band first)."""
        return [(f"{cell.currency} {cell.band}", cell.count) for cell in self.prices]


@dataclass(frozen=True)
class CategoryDemand:
    """A category's intents: in all, and per country."""

    category: str
    count: int
    countries: list[Cell]


class DemandUnavailable(Exception):
    """The exchange gave no release: unreachable, refused the query, or answered nonsense."""


def yesterday(now: float) -> str:
    """The latest closed UTC day, the one an exchange releases by default."""
    return (dt.datetime.fromtimestamp(now, dt.UTC).date() - dt.timedelta(days=1)).isoformat()


def period_problem(period: str, *, now: float) -> str | None:
    """Why an exchange would refuse ``period`` (not a day, or not over yet); None when fine."""
    try:
        if not _DAY.fullmatch(period):
            raise ValueError(period)
        dt.date.fromisoformat(period)
    except ValueError:
        return "Give a day as YYYY-MM-DD."
    if period > yesterday(now):
        return f"Only days that are over are released: {yesterday(now)} is the latest (UTC)."
    return None


async def fetch_release(
    transport: Transport, exchange_url: str, *, category: str | None, period: str
) -> Release:
    """The exchange's release of ``period`` under ``category`` (None: every category).

    Raises:
        DemandUnavailable: no release came; the message says why, in words for the vendor.
    """
    query = {"period": period} | ({"category": category} if category else {})
    url = f"{exchange_url.rstrip('/')}{SIGNALS_PATH}?{urlencode(query)}"
    try:
        reply = await transport.request("GET", url)
    except TransportError as exc:
        raise DemandUnavailable(f"The exchange could not be reached: {exc}") from exc
    if reply.status != 200:
        detail, code = _problem(reply.body, reply.content_type)
        if code == "budget_spent":
            raise DemandUnavailable(
                f"The exchange has spent the privacy budget of {period}: it releases no new "
                "figures for that day. Choose a category already shown, or another day."
            )
        raise DemandUnavailable(f"The exchange refused: {detail or f'HTTP {reply.status}'}")
    try:
        return Release.model_validate_json(reply.body)
    except ValidationError as exc:
        raise DemandUnavailable("The exchange's answer is not a demand release.") from exc


def _problem(body: bytes, content_type: str) -> tuple[str, str | None]:
    """The detail and code of a problem document (empty when it is not one)."""
    if not content_type.endswith("json"):
        return "", None
    try:
        document = _ProblemDocument.model_validate_json(body)
    except ValidationError:
        return "", None
    return document.detail, document.code


class _ProblemDocument(BaseModel):
    detail: str = ""
    code: str | None = None


# the chart

WIDTH = 400
"""The chart's width in its own units: near a phone's width in CSS pixels, so text stays legible."""
ROW = 50
LABEL_BASELINE = 17
BAR_TOP = 24
BAR_HEIGHT = 18
COUNT_ROOM = 64
"""Room kept right of the longest bar for its number."""


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its number, and where it is drawn."""

    label: str
    count: int
    label_y: int
    y: int
    width: float
    count_x: float
    count_y: int
    height: int = BAR_HEIGHT


@dataclass(frozen=True)
class BarChart:
    """A horizontal bar chart: each label above its bar, the number at the bar's end."""

    id: str
    title: str
    description: str
    width: int
    height: int
    bars: list[Bar]


def bar_chart(values: list[tuple[str, int]], *, id: str, title: str, unit: str) -> BarChart:
    """Lay ``values`` out as bars scaled to the largest; ``description`` says every number."""
    longest = max((count for _, count in values), default=0)
    room = WIDTH - COUNT_ROOM
    bars = []
    for row, (label, count) in enumerate(values):
        top = row * ROW
        width = room * count / longest if longest else 0.0
        bars.append(
            Bar(
                label=label,
                count=count,
                label_y=top + LABEL_BASELINE,
                y=top + BAR_TOP,
                width=round(width, 1),
                count_x=round(width + 6, 1),
                count_y=top + BAR_TOP + BAR_HEIGHT - 4,
            )
        )
    said = "; ".join(f"{label}: {count} {unit}" for label, count in values)
    return BarChart(
        id=id,
        title=title,
        description=f"{said}." if said else "Nothing to show.",
        width=WIDTH,
        height=max(ROW * len(values), ROW) + 4,
        bars=bars,
    )
