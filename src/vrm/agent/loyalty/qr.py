"""A membership code as a QR code: SVG for the pages, text blocks for the terminal.

Error correction M (15 %): a phone's screen is clean, and the code stays a version
smaller than at Q. The SVG names no size (a ``viewBox`` only) and carries no style,
so the page's stylesheet sizes it and the strict Content-Security-Policy holds.
"""

from __future__ import annotations

import io

import segno

ERROR_CORRECTION = "m"


def qr_svg(text: str) -> bytes:
    """``text`` as a QR code in SVG: black modules on white, a quiet zone of four."""
    code = segno.make(text, error=ERROR_CORRECTION)
    out = io.BytesIO()
    code.save(
        out,
        kind="svg",
        border=4,
        omitsize=True,
        xmldecl=False,
        svgclass=None,
        lineclass=None,
        title="Membership code",
        dark="#000",
        light="#fff",
    )
    return out.getvalue()


def qr_terminal(text: str) -> str:
    """``text`` as a QR code drawn with block characters, two rows of modules per line."""
    out = io.StringIO()
    segno.make(text, error=ERROR_CORRECTION).terminal(out=out, compact=True)
    return out.getvalue()
