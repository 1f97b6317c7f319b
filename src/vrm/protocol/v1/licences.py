"""The licences a person may publish a review under, and the reservation of mining.

A small fixed list, so that every vendor can honour every review without reading
a lawyer's text: the Creative Commons 4.0 licences and the CC0 1.0 public-domain
dedication, each named by its canonical URL (the value of schema.org ``license``).

Training AI models on a text is text and data mining. Whether it is reserved is
said apart from the licence, with the W3C Text and Data Mining Reservation Protocol
(TDMRep, Community Group report, 2024): its ``tdm:reservation`` property, ``1`` when
the rights holder reserves mining (the EU DSM Directive 2019/790, article 4(3),
opt-out) and ``0`` when not. A licence says what anyone may do with the review; the
reservation takes mining out of it. CC0 waives every right, the reservation's too,
so it cannot be combined with one.
Specification: docs/protocol.md, section 7.11.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

TDMREP: Final = "http://www.w3.org/ns/tdmrep#"
"""The TDMRep vocabulary (its ``reservation`` property is ``tdm:reservation``)."""


@dataclass(frozen=True)
class Licence:
    """One licence a review may carry: how people and programs name it, and what it allows."""

    key: str
    """The short name the command line and forms use: ``cc-by-nc``."""
    name: str
    """As Creative Commons names it: ``CC BY-NC 4.0``."""
    url: str
    """Its canonical URL: the review's ``license``."""
    summary: str
    """What it allows, in one line for people."""
    commercial: bool
    """Whether it allows commercial use."""
    derivatives: bool
    """Whether it allows changed versions (a translation, a rewrite)."""
    attribution: bool
    """Whether users must credit the author."""
    reservable: bool = True
    """Whether text and data mining can be reserved under it (not under CC0)."""


LICENCES: tuple[Licence, ...] = (
    Licence(
        "cc-by",
        "CC BY 4.0",
        "https://creativecommons.org/licenses/by/4.0/",
        "Anyone may use, share and adapt it, even commercially, if they credit you.",
        commercial=True,
        derivatives=True,
        attribution=True,
    ),
    Licence(
        "cc-by-sa",
        "CC BY-SA 4.0",
        "https://creativecommons.org/licenses/by-sa/4.0/",
        "As CC BY, and adaptations must be shared under the same licence.",
        commercial=True,
        derivatives=True,
        attribution=True,
    ),
    Licence(
        "cc-by-nc",
        "CC BY-NC 4.0",
        "https://creativecommons.org/licenses/by-nc/4.0/",
        "Anyone may use, share and adapt it, crediting you, but not commercially.",
        commercial=False,
        derivatives=True,
        attribution=True,
    ),
    Licence(
        "cc-by-nc-sa",
        "CC BY-NC-SA 4.0",
        "https://creativecommons.org/licenses/by-nc-sa/4.0/",
        "As CC BY-NC, and adaptations must be shared under the same licence.",
        commercial=False,
        derivatives=True,
        attribution=True,
    ),
    Licence(
        "cc-by-nd",
        "CC BY-ND 4.0",
        "https://creativecommons.org/licenses/by-nd/4.0/",
        "Anyone may share it unchanged, even commercially, if they credit you.",
        commercial=True,
        derivatives=False,
        attribution=True,
    ),
    Licence(
        "cc-by-nc-nd",
        "CC BY-NC-ND 4.0",
        "https://creativecommons.org/licenses/by-nc-nd/4.0/",
        "Anyone may share it unchanged, crediting you, but not commercially.",
        commercial=False,
        derivatives=False,
        attribution=True,
    ),
    Licence(
        "cc0",
        "CC0 1.0",
        "https://creativecommons.org/publicdomain/zero/1.0/",
        "You give up every right to it: anyone may do anything with it.",
        commercial=True,
        derivatives=True,
        attribution=False,
        reservable=False,
    ),
)

LICENCE_URLS = tuple(licence.url for licence in LICENCES)
_BY_KEY = {licence.key: licence for licence in LICENCES}
_BY_URL = {licence.url: licence for licence in LICENCES}


def licence(name: str) -> Licence:
    """The licence a key (``cc-by-nc``) or canonical URL names.

    Raises:
        ValueError: no licence of the list has this key or URL.
    """
    found = _BY_KEY.get(name.strip().lower()) or _BY_URL.get(name.strip())
    if found is None:
        raise ValueError(f"no licence {name!r}: choose one of {', '.join(sorted(_BY_KEY))}")
    return found


def in_words(url: str, *, reserved: bool) -> str:
    """A review's licence and reservation as one sentence for people."""
    chosen = _BY_URL.get(url)
    said = f"{chosen.name}: {chosen.summary}" if chosen else f"licence {url}"
    if reserved:
        said += " Text and data mining, AI training included, is reserved."
    return said
