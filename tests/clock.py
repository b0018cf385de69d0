"""A clock for tests (a real :class:`syncd.clock.Clock`): time moves only when waited on.

``wait(stop, seconds)`` moves the clock forward instead of sleeping, running
the events scheduled with :meth:`FakeClock.at` on the way, each at its moment
(deliver mail, press a button, set the stop event...). A daemon loop driven by
it runs hours of polls in milliseconds, in the test's own thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo

START = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = START, zone: tzinfo = UTC) -> None:
        self.start, self.zone = start, zone
        self.elapsed = 0.0  # seconds since start; monotonic() is 1000 + elapsed
        self._events: list[tuple[float, int, Callable[[], object]]] = []
        self._added = 0

    # --- the Clock interface ----------------------------------------------------

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)

    def local_now(self) -> datetime:
        return self.now().astimezone(self.zone)

    def monotonic(self) -> float:
        return 1000.0 + self.elapsed

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        target = self.elapsed + max(0.0, seconds)
        while not stop.is_set() and self._events and self._events[0][0] <= target:
            at, _, action = self._events.pop(0)
            self.elapsed = max(self.elapsed, at)
            action()
        if not stop.is_set():
            self.elapsed = target
        return stop.is_set()

    # --- for the test -----------------------------------------------------------

    def at(self, when: timedelta, action: Callable[[], object]) -> None:
        """Run ``action`` once the clock reaches ``start + when`` (in a wait)."""
        self._added += 1
        self._events.append((when.total_seconds(), self._added, action))
        self._events.sort()

    def advance(self, by: timedelta) -> None:
        self.elapsed += by.total_seconds()

    @property
    def since_start(self) -> timedelta:
        return timedelta(seconds=self.elapsed)
