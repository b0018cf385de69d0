"""Pacing for rate-limited APIs: a quota token bucket and retry backoff.

* :class:`TokenBucket` spends quota units before a request is sent, waiting
  when the budget is used up, so a sync stays under a per-minute quota
  instead of running into 429s.
* :class:`Backoff` says how long to wait before retry ``n``: exponential with
  jitter, never shorter than the server's ``Retry-After``.

Clock and sleep are injectable so tests can check the arithmetic without
waiting. Nothing here knows about any particular API.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class TokenBucket:
    """``per_minute`` units refill continuously; at most ``burst`` are banked.

    The worst case in any sliding minute is ``burst + per_minute`` units, so
    callers pick both to stay under the server's limit.
    """

    def __init__(
        self,
        per_minute: float,
        burst: float | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.rate = per_minute / 60.0  # units per second
        self.burst = float(burst if burst is not None else per_minute / 6)
        self._clock = clock
        self._sleep = sleep
        self._level = self.burst
        self._stamp = clock()
        self.waited = 0.0  # seconds spent waiting, in all

    def _refill(self) -> None:
        now = self._clock()
        self._level = min(self.burst, self._level + (now - self._stamp) * self.rate)
        self._stamp = now

    def take(self, units: float) -> float:
        """Spend ``units``, first waiting as long as the budget requires; returns the wait.

        A request dearer than the whole burst is let through once the bucket
        is full (the level goes negative and later requests pay it back).
        """
        self._refill()
        need = min(units, self.burst)
        wait = 0.0
        if self._level < need:
            wait = (need - self._level) / self.rate
            self._sleep(wait)
            self.waited += wait
            self._refill()
        self._level -= units
        return wait


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass
class Backoff:
    """Exponential backoff with jitter: ``base * 2**n``, capped, times 0.5..1."""

    base: float = 1.0
    cap: float = 64.0
    tries: int = 7  # retries after the first attempt
    rand: Callable[[], float] = field(default=random.random)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """The wait before retry number ``attempt`` (0-based)."""
        exp = min(self.cap, self.base * 2.0**attempt)
        wait = exp * (0.5 + self.rand() / 2)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.cap * 4))
        return wait
