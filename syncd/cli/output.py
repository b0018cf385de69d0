"""How the commands print: one table writer, one JSON writer, and the time words.

Every command's output goes through here, so a table is laid out, and a
time or a JSON document is written, the same way everywhere. Tables are
laid out by display width (wide CJK and emoji count two columns, combining
marks none: ``wcwidth``, imported only for text that is not plain ASCII),
control characters in a cell are shown as a space or U+FFFD, and on a
terminal (or with ``$COLUMNS`` set) the widest columns are cut with "…" so a
row fits the terminal's width. JSON is never cut.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from syncd.durations import format_duration


def iso(at: datetime | None) -> str | None:
    """A time for JSON: ISO 8601 in UTC, or null."""
    return at.astimezone(UTC).isoformat() if at is not None else None


def ago(at: datetime | None, now: datetime) -> str:
    """A time for people: '3 weeks ago', 'in 2 days', 'never'."""
    if at is None:
        return "never"
    if abs((now - at).total_seconds()) < 1:
        return "just now"
    return f"{format_duration(now - at)} ago" if at <= now else f"in {format_duration(at - now)}"


def days(delta: timedelta | None) -> int | float | None:
    """A duration for JSON, in days (``cadence_days`` everywhere): whole days as an integer."""
    if delta is None:
        return None
    n = delta.total_seconds() / 86400
    return int(n) if n == int(n) else round(n, 3)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_PLAIN = re.compile(r"[\x20-\x7e]*")
#: A column is never cut narrower than this (or its header).
_NARROWEST = 4


def _clean(cell: str) -> str:
    """A cell fit for one table line: whitespace controls as a space, others U+FFFD."""
    return _CONTROL.sub(lambda m: " " if m.group() in "\t\n\r" else "\ufffd", cell)


def width(text: str) -> int:
    """How many terminal columns ``text`` (no control characters) takes."""
    if _PLAIN.fullmatch(text):
        return len(text)
    from wcwidth import wcswidth

    n = wcswidth(text)
    return n if n >= 0 else len(text)


def cut(text: str, most: int) -> str:
    """``text`` in at most ``most`` columns, ending in "…" when it had to be cut."""
    if width(text) <= most:
        return text
    if _PLAIN.fullmatch(text):
        return text[: most - 1] + "…"
    from wcwidth import wcwidth

    kept, used = [], 0
    for char in text:
        w = max(0, wcwidth(char))
        if used + w > most - 1:
            break
        kept.append(char)
        used += w
    return "".join(kept) + "…"


def terminal_width() -> int | None:
    """The width to fit tables in: the terminal's (or ``$COLUMNS``); None when
    the output goes to a file or a pipe, which is never cut."""
    if "COLUMNS" not in os.environ and not sys.stdout.isatty():
        return None
    return shutil.get_terminal_size().columns


def _fit(widths: list[int], least: list[int], room: int) -> list[int]:
    """Narrow the widest columns, one column at a time, until the row fits ``room``."""
    widths = list(widths)
    excess = sum(widths) + 2 * (len(widths) - 1) - room
    while excess > 0:
        cuttable = [i for i, w in enumerate(widths) if w > least[i]]
        if not cuttable:
            break
        i = max(cuttable, key=lambda j: widths[j])
        widths[i] -= 1
        excess -= 1
    return widths


def table(rows: list[list[str]], headers: list[str]) -> None:
    """The one table writer: columns padded by display width, cut to the terminal."""
    lines = [[_clean(c) for c in row] for row in [headers, *rows]]
    widths = [max(width(r[i]) for r in lines) for i in range(len(headers))]
    room = terminal_width()
    if room is not None:
        least = [min(w, max(_NARROWEST, width(h))) for w, h in zip(widths, lines[0], strict=True)]
        widths = _fit(widths, least, room)
    for row in lines:
        cells = [cut(cell, w) for cell, w in zip(row, widths, strict=True)]
        padded = [cell + " " * (w - width(cell)) for cell, w in zip(cells, widths, strict=True)]
        click.echo("  ".join(padded).rstrip())
