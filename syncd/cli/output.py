"""How the commands print: one table writer, one JSON writer, and the time words.

Every command's output goes through here, so a table is laid out, and a
time or a JSON document is written, the same way everywhere.
"""

from __future__ import annotations

import json
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


def table(rows: list[list[str]], headers: list[str]) -> None:
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
