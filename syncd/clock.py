"""The clock the core reads, so that time can be injected.

A :class:`Clock` answers four questions: the wall time (aware, UTC; what is
stored and what lapses are measured against), the local wall time (quiet
hours), a monotonic count of seconds (back-off and the daemon's schedule,
immune to the wall clock being set) and an interruptible wait (the daemon's
loop). :data:`SYSTEM` is the real clock and the default everywhere; tests pass
their own (``tests/clock.py``). Standard library only.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The wall time, aware, in UTC."""
        ...

    def local_now(self) -> datetime:
        """The wall time in the user's zone, aware (for quiet hours)."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start, never going back."""
        ...

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """Wait ``seconds`` or until ``stop`` is set; whether it is set."""
        ...


class SystemClock:
    """The machine's clocks."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def local_now(self) -> datetime:
        return datetime.now().astimezone()

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(seconds)


SYSTEM: Clock = SystemClock()
