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
            least, most = format_duration(self.least), format_duration(self.most)
            raise ValueError(f"must be between {least} and {most}")
        return delta

    def parse(self, text: str) -> timedelta:
        return self.check(parse_duration(text))


_DAY, _CENTURY = timedelta(days=1), timedelta(days=100 * 365)
CADENCE = Bounds(_DAY, _CENTURY)
SNOOZE = Bounds(timedelta(minutes=1), _CENTURY)
POLL_INTERVAL = Bounds(timedelta(seconds=1), _DAY)
BACKOFF = Bounds(timedelta(seconds=1), timedelta(days=7))
#: renotify_after, reply_after and the like: how long before telling (again).
ALERT_DELAY = Bounds(timedelta(minutes=1), _CENTURY)


_MINUTE, _HOUR, _DAYS = 60, 3600, 86400


def _count(count: int, unit: str) -> str:
    return f"{count} {unit}{'s' if count != 1 else ''}"


def format_duration(delta: timedelta) -> str:
    """The one way weakties shows a duration to people (cadences, ages, waits):
    '6 months', '1 year', '3 weeks', '10 days', '4 hours', '15 minutes'.

    A duration of a day or more is counted in whole days, then shown in the
    largest unit that counts it exactly (365 days '1 year', 180 days '6 months',
    21 days '3 weeks'), else rounded: days under 60 days, months under 2 years,
    years beyond. Under a day: hours, minutes or seconds, rounded; under a
    second, 'just now'. JSON keeps numbers and never goes through here.
    """
    seconds = abs(delta.total_seconds())
    if seconds >= _DAYS - _HOUR / 2:
        days = max(1, round(seconds / _DAYS))
        if days % 365 == 0:
            return _count(days // 365, "year")
        if days >= 2 * 365:
            return _count(round(days / 365), "year")
        if days % 30 == 0:
            return _count(days // 30, "month")
        if days >= 60:
            return _count(round(days / 30), "month")
        if days % 7 == 0:
            return _count(days // 7, "week")
        return _count(days, "day")
    if seconds >= _HOUR - 30:
        return _count(max(1, round(seconds / _HOUR)), "hour")
    if seconds >= _MINUTE - 0.5:
        return _count(max(1, round(seconds / _MINUTE)), "minute")
    return "just now" if seconds < 1 else _count(int(seconds), "second")
