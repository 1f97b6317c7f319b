"""What several commands print or write the same way: JSON, times, private files."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any


def write_out(document: str, output: Path | None) -> None:
    """``document`` to ``output`` (created or replaced, mode 0600: it is personal), or stdout."""
    if output is None:
        sys.stdout.write(document)
        return
    descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as written:
        written.write(document)


def print_json(document: Any) -> None:
    """``document`` as indented JSON, non-ASCII kept as it is."""
    print(json.dumps(document, indent=2, ensure_ascii=False))


def when(epoch: float) -> str:
    """An epoch time as ``2026-11-24 06:50:12``, local time."""
    return dt.datetime.fromtimestamp(epoch).isoformat(sep=" ", timespec="seconds")
