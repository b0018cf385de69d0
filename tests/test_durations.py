"""Durations as typed: units, the ambiguous bare 'm', and the bounds every setting has."""

from datetime import timedelta

import pytest

from syncd.durations import CADENCE, POLL_INTERVAL, SNOOZE, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90d", timedelta(days=90)),
        ("15min", timedelta(minutes=15)),
        ("6mo", timedelta(days=180)),
        ("3 months", timedelta(days=90)),
        ("1y 6mo", timedelta(days=545)),
        ("2 weeks", timedelta(days=14)),
    ],
)
def test_units(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["15m", "6m", "1y 2m"])
def test_bare_m_is_refused_with_both_meanings(text: str) -> None:
    with pytest.raises(ValueError, match="use 'min' for minutes or 'mo' for months"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["10000y", "100000y", "9" * 400 + "d"])
def test_huge_durations_are_refused_not_overflowing(text: str) -> None:
    with pytest.raises(ValueError, match="too long"):
        parse_duration(text)


def test_cadence_bounds() -> None:
    for text in ("0d", "12h", "101y"):
        with pytest.raises(ValueError, match="between 1 day and 100 years"):
            CADENCE.parse(text)
    assert CADENCE.parse("1d") == timedelta(days=1)
    assert CADENCE.parse("100y") == timedelta(days=36500)


def test_snooze_and_poll_bounds() -> None:
    with pytest.raises(ValueError, match="100 years"):
        SNOOZE.parse("200y")
    with pytest.raises(ValueError, match="between 1 second and 1 day"):
        POLL_INTERVAL.parse("2d")
    assert POLL_INTERVAL.parse("1s") == timedelta(seconds=1)


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(days=365), "1 year"),
        (timedelta(days=730), "2 years"),
        (timedelta(days=800), "2 years"),
        (timedelta(days=360), "12 months"),
        (timedelta(days=180), "6 months"),
        (timedelta(days=107), "4 months"),
        (timedelta(days=32), "32 days"),
        (timedelta(days=21), "3 weeks"),
        (timedelta(days=20, hours=11), "20 days"),
        (timedelta(days=10), "10 days"),
        (timedelta(days=1), "1 day"),
        (timedelta(hours=23, minutes=50), "1 day"),
        (timedelta(hours=4), "4 hours"),
        (timedelta(minutes=15), "15 minutes"),
        (timedelta(seconds=59.8), "1 minute"),
        (timedelta(seconds=7), "7 seconds"),
        (timedelta(milliseconds=300), "just now"),
        (-timedelta(days=14), "2 weeks"),
    ],
)
def test_one_formatting_of_durations(delta: timedelta, words: str) -> None:
    assert format_duration(delta) == words
