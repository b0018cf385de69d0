"""Durations as users write them: "180d", "15min", "3 months", "1y 6mo".

Units: s, min, h, d, w, mo (= 30 days), y (= 365 days), and their words
(seconds, minutes, hours, days, weeks, months, years). A bare "m" is refused:
it means minutes to systemd and months to people writing a cadence.

Every setting that takes a duration has a :class:`Bounds` (a cadence is at
least a day and at most 100 years, ...), checked where it is typed or loaded,
so no stored value can overflow the date arithmetic later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

_UNITS: dict[str, float] = {}
for _seconds, _names in (
    (1, "s sec secs second seconds"),
    (60, "min mins minute minutes"),
    (3600, "h hr hrs hour hours"),
    (86400, "d day days"),
    (7 * 86400, "w wk wks week weeks"),
    (30 * 86400, "mo mos mon month months"),
    (365 * 86400, "y yr yrs year years"),
):
    _UNITS.update(dict.fromkeys(_names.split(), _seconds))

_AMBIGUOUS = "m"
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*,?", re.IGNORECASE)


def parse_duration(text: str) -> timedelta:
    """Parse a duration; raises ValueError with a message fit for the user."""
    pos, total, parts = 0, 0.0, 0
    text = text.strip()
    if text.startswith("-"):
        raise ValueError(f"negative duration {text!r}: a duration counts forward, e.g. '1d'")
    while pos < len(text):
        match = _PART.match(text, pos)
        if match and match.group(2).lower() == _AMBIGUOUS:
            raise ValueError(
                f"ambiguous duration {text!r}: use 'min' for minutes or 'mo' for months"
            )
        if not match or match.group(2).lower() not in _UNITS:
            raise ValueError(
                f"bad duration {text!r} (use e.g. '90d', '15min', '6 months'; "
                "units s, min, h, d, w, mo, y)"
            )
        total += float(match.group(1)) * _UNITS[match.group(2).lower()]
        pos, parts = match.end(), parts + 1
    if not parts:
        raise ValueError("empty duration")
    if total > _LONGEST.total_seconds():
        raise ValueError(f"duration {text!r} is too long (at most {_LONGEST.days // 365} years)")
    return timedelta(seconds=total)


#: Far beyond any bound below, and far from timedelta's and datetime's limits.
_LONGEST = timedelta(days=1000 * 365)


@dataclass(frozen=True)
class Bounds:
    """The range a setting's duration must fall in (both ends included)."""

    least: timedelta
    most: timedelta

    def check(self, delta: timedelta) -> timedelta:
        """``delta`` itself, or ValueError saying the range in words."""
        if not self.least <= delta <= self.most:
            raise ValueError(f"must be between {_exact(self.least)} and {_exact(self.most)}")
        return delta

    def parse(self, text: str) -> timedelta:
        return self.check(parse_duration(text))


def _exact(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (
        ("year", 365 * 86400),
        ("day", 86400),
        ("hour", 3600),
        ("minute", 60),
        ("second", 1),
    ):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


_DAY, _CENTURY = timedelta(days=1), timedelta(days=100 * 365)
CADENCE = Bounds(_DAY, _CENTURY)
SNOOZE = Bounds(timedelta(minutes=1), _CENTURY)
POLL_INTERVAL = Bounds(timedelta(seconds=1), _DAY)
BACKOFF = Bounds(timedelta(seconds=1), timedelta(days=7))
#: renotify_after, reply_after and the like: how long before telling (again).
ALERT_DELAY = Bounds(timedelta(minutes=1), _CENTURY)


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
