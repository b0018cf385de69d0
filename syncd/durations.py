"""Durations as users write them: "180d", "15min", "3 months", "1y 6mo".

Units: s, min, h, d, w, m or mo (= 30 days), y (= 365 days), and their
words (seconds, minutes, hours, days, weeks, months, years). Note that a bare
"m" means months, as in a cadence; minutes are "min".
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS: dict[str, float] = {}
for _seconds, _names in (
    (1, "s sec secs second seconds"),
    (60, "min mins minute minutes"),
    (3600, "h hr hrs hour hours"),
    (86400, "d day days"),
    (7 * 86400, "w wk wks week weeks"),
    (30 * 86400, "m mo mos mon month months"),
    (365 * 86400, "y yr yrs year years"),
):
    _UNITS.update(dict.fromkeys(_names.split(), _seconds))

_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*,?", re.IGNORECASE)


def parse_duration(text: str) -> timedelta:
    """Parse a duration; raises ValueError with a message fit for the user."""
    pos, total, parts = 0, 0.0, 0
    text = text.strip()
    while pos < len(text):
        match = _PART.match(text, pos)
        if not match or match.group(2).lower() not in _UNITS:
            raise ValueError(
                f"bad duration {text!r} (use e.g. '90d', '15min', '6 months'; "
                "units s, min, h, d, w, m/mo, y)"
            )
        total += float(match.group(1)) * _UNITS[match.group(2).lower()]
        pos, parts = match.end(), parts + 1
    if not parts:
        raise ValueError("empty duration")
    return timedelta(seconds=total)


def format_duration(delta: timedelta) -> str:
    """A short, rounded human form: '3 months', '2 weeks', '5 days', '4 hours'."""
    seconds = abs(delta.total_seconds())
    for unit, size in (
        ("year", 365 * 86400),
        ("month", 30 * 86400),
        ("week", 7 * 86400),
        ("day", 86400),
        ("hour", 3600),
        ("minute", 60),
    ):
        if seconds >= size:
            count = max(1, round(seconds / size))
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "just now" if seconds < 1 else f"{int(seconds)} seconds"


def format_cadence(delta: timedelta) -> str:
    """A cadence the way it is usually written: '90d', '6mo', '1y'."""
    days = delta.total_seconds() / 86400
    if days >= 365 and days % 365 == 0:
        return f"{int(days // 365)}y"
    if days >= 30 and days % 30 == 0:
        return f"{int(days // 30)}mo"
    if days >= 1 and days == int(days):
        return f"{int(days)}d"
    return format_duration(delta)
