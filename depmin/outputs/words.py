"""Small text helpers every renderer shares: places, plurals, wrapping at words."""

from __future__ import annotations

import textwrap

from depmin.model import Via
from depmin.usecases.size_report import Row


def place(via: Via) -> str:
    return f"{via.file}:{via.line}" if via.line else via.file


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """`1 error`, `2 errors`, `1 direct distribution`, `3 direct distributions`."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {plural_form or noun + 's'}"


def wrapped(text: str, width: int = 80, indent: str = "  ") -> str:
    """One message wrapped at words for a terminal of `width` columns, continued with `indent`."""
    return textwrap.fill(
        text, width=max(width, 40), subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    )


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def row_value(row: Row, value: int) -> str:
    return human_bytes(value) if row.unit == "bytes" else f"{value:,}"
