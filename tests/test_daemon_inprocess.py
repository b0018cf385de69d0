"""The daemon's loop in-process, on a fake clock: days of polls in milliseconds.

``syncd.daemon.Daemon.run_forever`` runs in the test's thread with
``tests/clock.py``'s clock (waiting moves time on, running the test's
scripted events on the way), the in-memory connector (``connectors/memory.py``)
opened through the daemon's ``connect`` hook, a real SQLite store and a
notifier that records what it was given. What is checked: polls at their
scheduled times, back-off doubling up to ``max_backoff``, alerts told once and
again after ``renotify_after``, an undelivered alert retried, quiet hours in
local time, the notification buttons, and a stop between batches that loses
nothing. ``tests/test_daemon.py`` keeps the same daemon end to end, as a
subprocess against Dovecot.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from connectors import memory
from connectors.base import AuthError, Connector
from syncd.config import Account, Config
from syncd.daemon import Daemon
from syncd.model import Alert, AlertKind, Direction, NotificationAction
from syncd.notify.base import ActionRequest, Notification
from syncd.store import Store
from tests.clock import FakeClock
from tests.factories import (
    DAY,
    NOW,
    ConfigFactory,
    ContactFactory,
    InteractionsFactory,
    StoreFactory,
    memory_account,
)
from tests.helpers import message

MIN, HOUR = timedelta(minutes=1), timedelta(hours=1)


class RecordingNotifier:
    """A notifier that delivers into a list (with the clock's time), and whose
    buttons the test presses."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.told: list[tuple[timedelta, Notification]] = []
        self.opened: list[str] = []
        self.pressed: list[ActionRequest] = []
        self.refuse = 0  # how many deliveries to refuse (no desktop session, say)
        self.closed = False

    def deliver(self, notification: Notification) -> bool:
        if self.refuse:
            self.refuse -= 1
            return False
        self.told.append((self.clock.since_start, notification))
        return True

    def pending_actions(self) -> list[ActionRequest]:
        pressed, self.pressed = self.pressed, []
        return pressed

    def open_uri(self, uri: str) -> bool:
        self.opened.append(uri)
        return True

    def close(self) -> None:
        self.closed = True

    def press(self, action: NotificationAction, alert: Alert) -> None:
        self.pressed.append(ActionRequest(action, alert))

    def when_told(self) -> list[timedelta]:
        return [at for at, _ in self.told]

    def names(self) -> list[list[str]]:
        return [[a.name for a in n.alerts] for _, n in self.told]


@dataclass
class Rig:
    """A store, a clock, a notifier and one memory mailbox per account name."""

    store: Store
    clock: FakeClock
    notifier: RecordingNotifier
    mailboxes: dict[str, memory.MemoryMailbox] = field(default_factory=dict)
    polls: list[tuple[str, timedelta]] = field(default_factory=list)  # connects attempted

    def mailbox(self, account: str) -> memory.MemoryMailbox:
        return self.mailboxes.setdefault(account, memory.MemoryMailbox())

    def connect(self, account: Account) -> Connector:
        self.polls.append((account.name, self.clock.since_start))
        return memory.connect(self.mailbox(account.name), account.settings)

    def daemon(self, config: Config, tick: float = 1.0) -> Daemon:
        return Daemon(
            self.store, config, self.notifier, clock=self.clock, connect=self.connect, tick=tick
        )

    def run(self, config: Config, until: timedelta, tick: float = 1.0) -> Daemon:
        """Run a daemon's loop from now until ``until`` after the clock's start."""
        daemon = self.daemon(config, tick)
        self.clock.at(until, daemon.stop.set)
        daemon.run_forever()
        return daemon

    def polled(self, account: str) -> list[timedelta]:
        return [at for name, at in self.polls if name == account]

    def deliver(self, account: str, sender: str, at: timedelta, folder: str = "INBOX") -> None:
        """Mail arriving at ``at`` after the clock's start."""
        when = NOW + at
        raw = message(sender, "me@example.com", date=when, message_id=f"<{at}{sender}@x>")
        self.clock.at(at, lambda: self.mailbox(account).deliver(raw, folder, when))


@pytest.fixture
def rig(store: Store, clock: FakeClock) -> Rig:
    return Rig(store, clock, RecordingNotifier(clock))


def overdue(
    store: Store,
    make_contact: ContactFactory,
    make_interactions: InteractionsFactory,
    name: str = "Priya",
    days: int = 100,
) -> None:
    """A contact last written to ``days`` ago (the default cadence is 90 days)."""
    make_contact(store, name, created=NOW - 400 * DAY)
    make_interactions(store, f"{name.lower()}@example.org", (Direction.SENT, NOW - days * DAY))


def test_polls_run_on_schedule_staggered_and_the_first_check_waits_for_every_account(
    rig: Rig,
    make_config: ConfigFactory,
    make_contact: ContactFactory,
    make_interactions: InteractionsFactory,
) -> None:
    overdue(rig.store, make_contact, make_interactions)
    make_contact(rig.store, "Carol")
    config = make_config(
        daemon={"poll_interval": "15min"}, accounts=[memory_account("a"), memory_account("b")]
    )
    rig.deliver("b", "Carol <carol@example.org>", 20 * MIN)
    rig.run(config, until=40 * MIN)
    second = timedelta(seconds=1)
    # the first polls spread over STAGGER (10 s): b starts 5 s after a
    assert rig.polled("a") == [0 * MIN, 15 * MIN, 30 * MIN]
    assert rig.polled("b") == [5 * second, 15 * MIN + 5 * second, 30 * MIN + 5 * second]
    # told once, after b's first poll (not after a's alone), and not again
    assert rig.notifier.when_told() == [5 * second]
    assert rig.notifier.names() == [["Priya"]]
    # the mail that arrived at 20 min came in with b's poll at 30 min 5 s
    [carol] = [c for c in rig.store.contacts() if c.name == "Carol"]
    assert carol.last_received == NOW + 20 * MIN
    assert rig.store.last_synced("b") == NOW + 30 * MIN + 5 * second


def test_a_failing_account_backs_off_doubling_up_to_max_backoff_then_recovers(
    rig: Rig, make_config: ConfigFactory, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config(
        daemon={"poll_interval": "1min", "max_backoff": "4min"},
        accounts=[memory_account("bad"), memory_account("good")],
    )
    rig.mailbox("bad").fail_connect(AuthError("login refused for me@example.com"), times=5)
    with caplog.at_level(logging.INFO, logger="weakties.daemon"):
        rig.run(config, until=20 * MIN + 30 * timedelta(seconds=1))
    # waits after failures 1..5: 2, 4, 4 (8 capped), 4, 4 minutes; then every minute again
    assert rig.polled("bad") == [m * MIN for m in (0, 2, 6, 10, 14, 18, 19, 20)]
    # the other account is polled every minute throughout
    assert rig.polled("good") == [k * MIN + timedelta(seconds=5) for k in range(21)]
    messages = [r.getMessage() for r in caplog.records]
    assert (
        "bad: login refused for me@example.com (failed 1 time(s) in a row; next try in 2 minutes)"
        in messages
    )
    assert any("failed 3 time(s) in a row; next try in 4 minutes" in m for m in messages)
    assert "bad: syncing again after 5 failure(s)" in messages


@pytest.mark.parametrize(
    ("reply_at", "expected"),
    [
        (None, [0, 72, 144]),  # still overdue: told again every renotify_after (3 days)
        (100, [0, 72]),  # their mail at hour 100 ends the lapse at the next poll
    ],
)
def test_a_lapse_is_told_once_then_again_after_renotify_after_until_it_ends(
    rig: Rig,
    make_config: ConfigFactory,
    make_contact: ContactFactory,
    make_interactions: InteractionsFactory,
    reply_at: int | None,
    expected: list[int],
) -> None:
    overdue(rig.store, make_contact, make_interactions)
    config = make_config(
        daemon={"poll_interval": "6h"},
        notify={"renotify_after": "3d"},
        accounts=[memory_account("mail")],
    )
    if reply_at is not None:
        rig.deliver("mail", "Priya <priya@example.org>", reply_at * HOUR)
    rig.run(config, until=7 * DAY + MIN, tick=600)
    assert rig.notifier.when_told() == [h * HOUR for h in expected]
    assert rig.notifier.names() == [["Priya"]] * len(expected)
    assert len(rig.polled("mail")) == 7 * 4 + 1  # 0 h, 6 h, ... 168 h


def test_an_alert_that_could_not_be_delivered_is_told_at_the_next_check(
    rig: Rig,
    make_config: ConfigFactory,
    make_contact: ContactFactory,
    make_interactions: InteractionsFactory,
) -> None:
    overdue(rig.store, make_contact, make_interactions)
    config = make_config(daemon={"poll_interval": "15min"}, accounts=[memory_account("mail")])
    rig.notifier.refuse = 2
    rig.run(config, until=2 * HOUR)
    assert rig.notifier.when_told() == [30 * MIN]  # refused at 0 and 15 min, told once


def test_no_account_still_checks_lapses_on_schedule(
    rig: Rig, make_config: ConfigFactory, make_contact: ContactFactory
) -> None:
    make_contact(rig.store, "Gail", created=NOW - 100 * DAY)  # never in touch since
    config = make_config(daemon={"poll_interval": "1h"}, notify={"renotify_after": "2h"})
    rig.run(config, until=5 * HOUR + MIN, tick=60)
    assert rig.notifier.when_told() == [0 * HOUR, 2 * HOUR, 4 * HOUR]
    [(_, note)] = rig.notifier.told[:1]
    assert note.alerts[0].direction is None  # never contacted: counted from when added


@pytest.mark.parametrize(
    ("zone", "start", "told_at"),
    [
        (UTC, datetime(2025, 6, 1, 23, 0, tzinfo=UTC), 9 * HOUR),  # held 23:00..07:00
        # 22:30 local is 20:30 UTC; told at 08:00 local = 06:00 UTC
        (timezone(timedelta(hours=2)), datetime(2025, 6, 1, 20, 30, tzinfo=UTC), 9.5 * HOUR),
    ],
)
def test_quiet_hours_hold_every_alert_until_they_end_in_local_time(
    make_store: StoreFactory,
    make_config: ConfigFactory,
    make_contact: ContactFactory,
    make_interactions: InteractionsFactory,
    zone: timezone,
    start: datetime,
    told_at: timedelta,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(start, zone)
    rig = Rig(make_store(), clock, RecordingNotifier(clock))
    overdue(rig.store, make_contact, make_interactions)
    config = make_config(
        daemon={"poll_interval": "30min"},
        notify={"quiet_hours": "22:00-08:00"},
        accounts=[memory_account("mail")],
    )
    with caplog.at_level(logging.INFO, logger="weakties.alerts"):
        rig.run(config, until=12 * HOUR, tick=60)
    assert rig.notifier.when_told() == [told_at]
    assert clock.start + told_at == (clock.start + told_at).astimezone(zone).replace(
        hour=8, minute=0
    )
    assert any(
        "quiet hours: holding 1 alert(s) until 08:00" in r.getMessage() for r in caplog.records
    )


def alert_told(rig: Rig, name: str = "Priya") -> Alert:
    """The alert about ``name`` in the one notification told so far."""
    [(_, note)] = rig.notifier.told
    [alert] = [a for a in note.alerts if a.name == name]
    return alert


def test_snooze_pressed_on_a_notification_quiets_the_contact_for_30_days(
    rig: Rig,
    make_config: ConfigFactory,
    make_contact: ContactFactory,
    make_interactions: InteractionsFactory,
) -> None:
    overdue(rig.store, make_contact, make_interactions)
    config = make_config(
        daemon={"poll_interval": "1h"},
        notify={"renotify_after": "1d"},
        accounts=[memory_account("mail")],
    )
    pressed = 10 * MIN + timedelta(seconds=12)
    rig.clock.at(pressed, lambda: rig.notifier.press(NotificationAction.SNOOZE, alert_told(rig)))
    rig.run(config, until=DAY + 2 * HOUR, tick=30.0)
    # handled at the loop's next tick (30 s here); no renotify while snoozed (renotify_after
    # is 1 day, polls are hourly)
    [priya] = rig.store.contacts()
    assert priya.snoozed_until == NOW + 10 * MIN + timedelta(seconds=30) + 30 * DAY
    assert rig.notifier.when_told() == [0 * HOUR]


def test_mark_as_contacted_ends_the_lapse_and_write_opens_a_mail(
    rig: Rig,
    make_config: ConfigFactory,
    make_contact: ContactFactory,
    make_interactions: InteractionsFactory,
) -> None:
    overdue(rig.store, make_contact, make_interactions)
    config = make_config(
        daemon={"poll_interval": "1h"},
        notify={"renotify_after": "1h"},
        accounts=[memory_account("mail")],
    )

    def press_both() -> None:
        alert = alert_told(rig)
        rig.notifier.press(NotificationAction.WRITE, alert)
        rig.notifier.press(NotificationAction.CONTACTED, alert)

    rig.clock.at(30 * MIN, press_both)
    rig.run(config, until=6 * HOUR, tick=60.0)
    assert rig.notifier.opened == ["mailto:priya@example.org"]
    [priya] = rig.store.contacts()
    assert priya.last_touch == NOW + 30 * MIN
    assert rig.notifier.when_told() == [0 * HOUR]  # contacted: nothing to tell since


def test_a_button_for_a_removed_contact_is_logged_and_the_loop_goes_on(
    rig: Rig,
    make_config: ConfigFactory,
    make_contact: ContactFactory,
    make_interactions: InteractionsFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    overdue(rig.store, make_contact, make_interactions)
    config = make_config(daemon={"poll_interval": "1h"}, accounts=[memory_account("mail")])

    def remove_then_press() -> None:
        alert = alert_told(rig)
        rig.store.remove_contact("Priya")
        rig.notifier.press(NotificationAction.SNOOZE, alert)

    rig.clock.at(10 * MIN, remove_then_press)
    make_contact(rig.store, "Gail", created=NOW - 100 * DAY)  # told with Priya at first
    with caplog.at_level(logging.WARNING):
        rig.run(config, until=2 * HOUR + MIN)
    assert any("notification button for Priya" in r.getMessage() for r in caplog.records)
    assert len(rig.polled("mail")) == 3  # the loop carried on


def stored(store: Store, name: str = "Priya") -> int:
    return len(store.evidence(name, 1000)[2])


def test_a_stop_between_batches_keeps_whole_batches_and_resumes_after_them(
    rig: Rig, make_config: ConfigFactory, make_contact: ContactFactory
) -> None:
    make_contact(rig.store, "Priya")
    box = rig.mailbox("mail")
    for n in range(120):
        at = NOW - timedelta(days=30) + n * MIN
        raw = message(
            "Priya <priya@example.org>", "me@example.com", date=at, message_id=f"<m{n}@x>"
        )
        box.deliver(raw, "INBOX", at)
    config = make_config(accounts=[memory_account("mail", batch_size=50)])
    daemon = rig.daemon(config)
    box.on_batch = lambda n: daemon.stop.set()  # asked to stop while the first batch is read
    daemon.run_forever()
    assert rig.clock.since_start == timedelta(0)  # stopped at once, no wait
    assert stored(rig.store) == 50
    assert rig.store.load_state("mail") == {
        "INBOX": {"uidvalidity": box.folders["INBOX"].uidvalidity, "last_uid": 50}
    }
    assert rig.notifier.told == []  # the cut-off poll checks no lapses
    box.on_batch = None
    rig.run(config, until=MIN)  # the next daemon resumes after the stored batch
    assert stored(rig.store) == 120
    assert rig.store.load_state("mail")["INBOX"]["last_uid"] == 120


def test_a_restarted_daemon_does_not_tell_again_what_was_told(
    rig: Rig,
    make_config: ConfigFactory,
    make_contact: ContactFactory,
    make_interactions: InteractionsFactory,
) -> None:
    overdue(rig.store, make_contact, make_interactions)
    config = make_config(daemon={"poll_interval": "15min"}, accounts=[memory_account("mail")])
    rig.run(config, until=MIN)
    rig.clock.advance(HOUR)  # down for an hour, then started again on the same database
    rig.run(config, until=2 * HOUR)
    assert rig.notifier.when_told() == [0 * MIN]  # the told-state is stored, not remembered
    assert len(rig.polled("mail")) == 1 + 4


def test_a_reply_owed_is_told_with_the_subject_of_their_mail(
    rig: Rig, make_config: ConfigFactory, make_contact: ContactFactory
) -> None:
    make_contact(rig.store, "Priya", created=NOW - 400 * DAY)
    when = NOW - 20 * DAY
    raw = message(
        "Priya <priya@example.org>",
        "me@example.com",
        date=when,
        message_id="<r@x>",
        subject="Dinner <b>next</b>\r\n week?",
    )
    rig.mailbox("mail").deliver(raw, "INBOX", when)
    config = make_config(notify={"reply_after": "14d"}, accounts=[memory_account("mail")])
    rig.run(config, until=MIN)
    [(_, note)] = rig.notifier.told
    assert note.summary == "Priya is waiting for a reply"
    assert note.body.endswith("“Dinner <b>next</b> week?”")
    assert [a.kind for a in note.alerts] == [AlertKind.REPLY]


def test_a_connector_bug_mid_pass_keeps_the_stored_batch_and_backs_off(
    rig: Rig,
    make_config: ConfigFactory,
    make_contact: ContactFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    make_contact(rig.store, "Priya")
    box = rig.mailbox("mail")
    for n in range(30):
        at = NOW - timedelta(days=2) + n * MIN
        raw = message("Priya <priya@example.org>", "me@example.com", date=at, message_id=f"<{n}@x>")
        box.deliver(raw, "INBOX", at)
    box.fail_after(1, RuntimeError("list index out of range"))
    config = make_config(
        daemon={"poll_interval": "1min"}, accounts=[memory_account("mail", batch_size=10)]
    )
    with caplog.at_level(logging.WARNING, logger="weakties.daemon"):
        rig.run(config, until=2 * MIN + 30 * timedelta(seconds=1))
    messages = [r.getMessage() for r in caplog.records]
    assert any(
        m.startswith("mail: RuntimeError: list index out of range (failed 1 time(s)")
        for m in messages
    )
    assert rig.polled("mail") == [0 * MIN, 2 * MIN]  # backed off for 2 minutes, then resumed
    assert stored(rig.store) == 30  # the batch before the bug was kept, the rest came after


def test_the_watchdog_is_fed_while_a_batch_is_worked_on(
    rig: Rig,
    make_config: ConfigFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """A batch of slow-to-read mail must not look like a hang to systemd: the
    daemon pings the watchdog per record, not only between batches."""
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(str(path))
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        monkeypatch.setenv("WATCHDOG_USEC", "1")  # ping as often as asked
        monkeypatch.delenv("WATCHDOG_PID", raising=False)
        for n in range(6):
            raw = message(f"p{n}@example.org", "me@example.com", message_id=f"<w{n}@x>")
            rig.mailbox("mail").deliver(raw, "INBOX", NOW - DAY)
        config = make_config(accounts=[memory_account("mail", batch_size=100)])
        rig.daemon(config).poll(config.accounts[0])  # one batch of six
        systemd.settimeout(0)
        pings = 0
        with contextlib.suppress(BlockingIOError):
            while True:
                pings += systemd.recv(4096).split(b"\n").count(b"WATCHDOG=1")
    assert pings >= 6
