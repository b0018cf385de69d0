"""``weakties daemon``: poll every account on a schedule, check for lapses, tell the user.

* A small scheduler runs one job per account every ``[daemon]
  poll_interval`` (counted from the end of its last run, on the clock's
  monotonic time); the first polls are staggered over a few seconds so the
  accounts are not all fetched at once. Every job is guarded: an exception is
  logged and the job stays scheduled.
* An account that fails waits ``poll_interval`` x 2, x 4, ... (at most ``[daemon]
  max_backoff``, default one hour) before it is tried again; the others carry on.
* After each poll (once every account has been tried since start, by this
  daemon or, for an account another daemon polls, by that one) the lapses
  are checked (``syncd.alerts``); buttons pressed on notifications are handled
  within a second.
* The work runs in one worker thread; the main thread only waits for SIGTERM
  or SIGINT. A stop is noticed between batches (each batch is stored with its
  sync state in one transaction, so nothing is ever half-stored); if a server
  holds a read past the grace period the process exits anyway, which loses no
  stored batch. Exit status 0.
* Several daemons (one per machine) may share one database: an account is
  polled only under its lease (``Store.acquire_lease``), which lives
  :data:`LEASE_INTERVALS` poll intervals and is renewed while held (before
  records of a poll, and between polls), so a daemon that dies loses its
  accounts within two intervals; the others try again when the lease would
  expire, and resume from the stored cursor (a replayed batch changes
  nothing). A stopping daemon releases its leases. A lease lost mid-poll
  (another daemon took it over) ends that poll after its stored batches.
* systemd hears ``READY=1``, watchdog pings, ``STATUS=`` lines and ``STOPPING=1``.
* Every reading of time goes through a :class:`syncd.clock.Clock` (the system
  clock unless one is passed), and connectors are opened through
  ``syncd.accounts`` unless a ``connect`` is passed: tests drive the loop
  in-process with a fake clock and the in-memory connector.
"""

from __future__ import annotations

import functools
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from connectors.base import Connector
from syncd import actions, alerts, digest_send, engine
from syncd.clock import SYSTEM, Clock
from syncd.config import Account, Config
from syncd.durations import format_duration
from syncd.notify.base import Notifier
from syncd.store import Store, new_holder
from syncd.systemd import Watchdog, sd_notify

log = logging.getLogger("weakties.daemon")

GRACE = 3.0  # seconds between SIGTERM and exit, at most (the issue asks for 5)
TICK = 1.0  # the loop wakes at least this often (buttons, watchdog, stop)
STAGGER = 10.0  # the first polls of the accounts are spread over this many seconds
LEASE_INTERVALS = 1.5  # a lease lives this many poll intervals unless renewed
RENEW_EVERY = 0.25  # of a lease's time to live: renewed at least this often while held


class LeaseLost(Exception):
    """Raised within a poll when another daemon took the account's lease over."""


class Stopping(Exception):
    """Raised between batches when the daemon has been asked to stop."""


@dataclass
class AccountState:
    failures: int = 0
    retry_at: float = 0.0  # clock.monotonic() before which the account is not polled
    tried: bool = False
    last_ok: datetime | None = None


def backoff(failures: int, interval: timedelta, cap: timedelta) -> timedelta:
    """How long an account that failed ``failures`` times in a row waits."""
    cap = max(cap, interval)
    return min(interval * (1 << min(failures, 20)), cap)


@dataclass
class Job:
    what: str
    run: Callable[[], None]
    interval: float  # seconds from the end of one run to the next
    next_run: float  # on the clock's monotonic time
    sooner: float | None = None  # set by a run: the next one this many seconds after it


@dataclass
class Scheduler:
    """Jobs run every so many seconds, on a clock's monotonic time."""

    clock: Clock
    jobs: list[Job] = field(default_factory=list)

    def every(self, interval: float, what: str, run: Callable[[], None], first: float) -> Job:
        """Run ``run`` ``first`` seconds from now, then every ``interval`` seconds."""
        job = Job(what, run, interval, self.clock.monotonic() + first)
        self.jobs.append(job)
        return job

    def run_pending(self) -> None:
        now = self.clock.monotonic()
        for job in sorted((j for j in self.jobs if j.next_run <= now), key=lambda j: j.next_run):
            job.run()
            wait = job.interval if job.sooner is None else min(job.sooner, job.interval)
            job.next_run, job.sooner = self.clock.monotonic() + wait, None

    @property
    def idle_seconds(self) -> float | None:
        """Seconds until the next job is due (negative when overdue); None without jobs."""
        if not self.jobs:
            return None
        return min(j.next_run for j in self.jobs) - self.clock.monotonic()


class Daemon:
    def __init__(
        self,
        store: Store,
        config: Config,
        notifier: Notifier,
        stop: threading.Event | None = None,
        *,
        clock: Clock = SYSTEM,
        connect: Callable[[Account[Any]], Connector] | None = None,
        tick: float = TICK,
    ) -> None:
        self.store, self.config, self.notifier = store, config, notifier
        self.stop = stop or threading.Event()
        self.clock, self.connect, self.tick = clock, connect, tick
        self.scheduler = Scheduler(clock)
        self.watchdog = Watchdog()
        self.accounts = {a.name: AccountState() for a in config.accounts}
        self.holder = new_holder()
        self.held: dict[str, float] = {}  # account -> clock.monotonic() of its last renewal
        self.jobs: dict[str, Job] = {}

    # --- leases (several daemons, one database) ---------------------------------

    @property
    def lease_ttl(self) -> timedelta:
        return self.config.daemon.poll_interval * LEASE_INTERVALS

    def _take_lease(self, account: str) -> bool:
        """Whether this daemon holds (took or renewed) ``account``'s lease now."""
        if self.store.acquire_lease(account, self.holder, self.lease_ttl, self.clock.now()):
            if account not in self.held:
                log.info("%s: this daemon (%s) polls it now", account, self.holder)
            self.held[account] = self.clock.monotonic()
            return True
        if self.held.pop(account, None) is not None:
            log.warning("%s: another daemon took the lease over", account)
        lease = next((x for x in self.store.leases() if x.account == account), None)
        if lease is not None and lease.last_poll_at is not None:
            self.accounts[account].tried = True  # its poller stored a whole poll of it
        job = self.jobs.get(account)
        if lease is not None and job is not None:  # try again when it would expire
            left = (lease.expires_at - self.clock.now()).total_seconds()
            job.sooner = max(self.tick, left + 0.1)
        return False

    def keep_leases(self, *, polled: str | None = None) -> None:
        """Renew the leases held (each once per :data:`RENEW_EVERY` of its life, and
        ``polled``'s now, noting the poll); one taken over is dropped."""
        ttl = self.lease_ttl
        for account, renewed in list(self.held.items()):
            due = self.clock.monotonic() - renewed >= ttl.total_seconds() * RENEW_EVERY
            if not due and account != polled:
                continue
            now = self.clock.now()
            if self.store.renew_lease(account, self.holder, ttl, now, polled=account == polled):
                self.held[account] = self.clock.monotonic()
            else:
                del self.held[account]
                log.warning("%s: another daemon took the lease over", account)

    def release_leases(self) -> None:
        for account in list(self.held):
            self.store.release_lease(account, self.holder)
            del self.held[account]

    def _tick(self, account: str) -> None:
        """Before each record of a poll: the watchdog, the leases, the lease still ours."""
        self.watchdog.ping()
        self.keep_leases()
        if account not in self.held:
            raise LeaseLost(account)

    # --- jobs -------------------------------------------------------------------

    def _guarded(self, what: str, job: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            if self.stop.is_set():
                return
            try:
                job()
            except Stopping:
                pass
            except Exception:
                log.exception("%s failed unexpectedly; it stays scheduled", what)

        return run

    def _progress(self, _account: str, _done: int, _total: int | None) -> None:
        self.watchdog.ping()
        if self.stop.is_set():
            raise Stopping  # after a stored batch, before the next

    def poll(self, account: Account[Any]) -> None:
        state = self.accounts[account.name]
        if self.clock.monotonic() < state.retry_at:
            log.debug("%s: backing off", account.name)
        elif not self._take_lease(account.name):
            log.debug("%s: polled by another daemon", account.name)
        else:
            try:
                result = engine.sync_account(
                    self.store,
                    self.config,
                    account,
                    self._progress,
                    connect=self.connect,
                    clock=self.clock,
                    # the watchdog fed and the lease renewed within a batch too
                    tick=functools.partial(self._tick, account.name),
                )
                error = result.error
            except Stopping:
                raise
            except LeaseLost:
                log.info("%s: lease lost mid-poll; the stored batches stay", account.name)
                state.tried = True
                return
            except Exception as exc:  # a database error, a connector bug: same back-off
                log.debug("sync of %s raised", account.name, exc_info=True)
                result, error = None, f"{exc.__class__.__name__}: {exc}"
            state.tried = True
            if error is None:
                assert result is not None
                self.keep_leases(polled=account.name)
                if state.failures:
                    log.info("%s: syncing again after %d failure(s)", account.name, state.failures)
                state.failures, state.retry_at = 0, 0.0
                state.last_ok = self.clock.now()
                found = result.new or result.skipped or result.meetings_new
                level = logging.INFO if found else logging.DEBUG
                log.log(level, "%s", result.summary())
            else:
                state.failures += 1
                wait = backoff(
                    state.failures, self.config.daemon.poll_interval, self.config.daemon.max_backoff
                )
                state.retry_at = self.clock.monotonic() + wait.total_seconds()
                log.warning(
                    "%s: %s (failed %d time(s) in a row; next try in %s)",
                    account.name,
                    error,
                    state.failures,
                    format_duration(wait),
                )
            self._status()
        if all(s.tried for s in self.accounts.values()):
            self.check_lapses()

    def check_lapses(self) -> None:
        result = alerts.check(
            self.store,
            self.config,
            self.notifier,
            now=self.clock.now(),
            local_now=self.clock.local_now(),
            holder=self.holder,
        )
        if result.failed:
            log.info(
                "%d alert(s) not delivered; trying again at the next check",
                len(result.failed[0].alerts),
            )

    def handle_buttons(self) -> None:
        for request in self.notifier.pending_actions():
            actions.perform(request, self.store, self.notifier, self.clock.now())

    def _status(self) -> None:
        failing = [n for n, s in self.accounts.items() if s.failures]
        ok = [s.last_ok for s in self.accounts.values() if s.last_ok]
        text = f"last sync {max(ok).astimezone():%H:%M}" if ok else "no sync yet"
        if failing:
            text += f"; failing: {', '.join(failing)}"
        sd_notify(f"STATUS={text}")

    # --- the loop ---------------------------------------------------------------

    def schedule_jobs(self) -> None:
        interval = self.config.daemon.poll_interval.total_seconds()
        count = len(self.config.accounts)
        spread = min(STAGGER, interval)
        for i, account in enumerate(self.config.accounts):
            what = f"poll of {account.name}"
            poll = self._guarded(what, functools.partial(self.poll, account))
            self.jobs[account.name] = self.scheduler.every(
                interval, what, poll, first=spread * i / count
            )
        if not count:  # no account: still tell of lapses (touches, never contacted)
            check = self._guarded("lapse check", self.check_lapses)
            self.scheduler.every(interval, "lapse check", check, first=0.0)
        digest_send.schedule_digest(
            self.scheduler, self._guarded, self.store, self.config, self.clock
        )

    def run_forever(self) -> None:
        """The worker's loop, until ``stop`` is set."""
        self.schedule_jobs()
        guarded_buttons = self._guarded("notification button", self.handle_buttons)
        guarded_leases = self._guarded("lease renewal", self.keep_leases)
        while not self.stop.is_set():
            self.scheduler.run_pending()
            guarded_buttons()
            guarded_leases()
            self.watchdog.ping()
            idle = self.scheduler.idle_seconds
            self.clock.wait(
                self.stop, self.tick if idle is None else max(0.0, min(idle, self.tick))
            )
        try:  # the other daemons take these accounts over at once
            self.release_leases()
        except Exception:
            log.warning("could not release the leases; they expire by themselves", exc_info=True)


def run(store: Store, config: Config, notifier: Notifier) -> int:
    """Run until SIGTERM or SIGINT; returns the exit status."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if not stop.is_set():
            log.info("%s received, stopping", signal.Signals(signum).name)
        stop.set()

    previous: dict[int, Any] = {
        sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    daemon = Daemon(store, config, notifier, stop)
    worker = threading.Thread(target=daemon.run_forever, name="weakties-worker", daemon=True)
    try:
        names = ", ".join(a.name for a in config.accounts) or "no accounts"
        log.info(
            "started: polling %s every %s", names, format_duration(config.daemon.poll_interval)
        )
        # ready before the worker runs: its first poll already feeds the watchdog
        sd_notify("READY=1", "STATUS=starting the first sync")
        worker.start()
        while worker.is_alive() and not stop.wait(TICK):
            pass
        if not worker.is_alive() and not stop.is_set():
            log.error("the worker thread ended unexpectedly")
            return 1
    finally:
        stop.set()
        sd_notify("STOPPING=1")
        if worker.ident is not None:
            worker.join(GRACE)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if worker.is_alive():
        log.warning(
            "a sync was still waiting for its server; stopped anyway "
            "(every stored batch is complete)"
        )
        return 0
    notifier.close()
    log.info("stopped")
    return 0
