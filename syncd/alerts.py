"""One lapse check: store -> lapses (decide) -> wording -> channels (deliver) -> told.

Used by ``weakties check-lapses`` and after every poll of the daemon.

* Every channel (``syncd.notify.make_channels``) has its own told-state: the
  alerts due are decided per channel, and an alert counts as told on a
  channel only once that channel delivered it. A channel that failed is
  written to the log and tried again at the next check; a retry never repeats
  an alert on the channels that already had it.
* One check sends at most one notification per channel (several alerts make
  one digest). The very first one on a channel (nothing told there yet) sums
  them all up ("40 people are due").
* ``[notify] max_per_day``: a channel that sent that many notifications today
  (local day) holds its alerts until the next day. A sent email digest counts
  as telling the alerts it listed, on every channel.
* Quiet hours hold every channel back.

:func:`plan` decides per channel, :func:`tell_channel` does one channel's
part, and :func:`deliver_on` is the single place where one channel delivers
one notification and records it told.

Several daemons may share one database: before a channel delivers, each of
its alerts is claimed in the database for that channel (``Store.claim_alert``,
an INSERT only one daemon can win), and the claims are released when the
delivery fails, so each lapse is told once per channel.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

from syncd import lapses
from syncd.config import Config
from syncd.model import Alert, AlertKind, Told
from syncd.notify import Channel, Channels
from syncd.notify.base import Notification, Notifier
from syncd.notify.log import log_notification
from syncd.notify.wording import compose
from syncd.store import Store, new_holder

log = logging.getLogger("weakties.alerts")


@dataclass
class ChannelResult:
    """What one check did on one channel."""

    label: str
    notification: Notification | None = None  # composed (and sent unless ``failed``)
    failed: bool = False
    problem: str | None = None  # the channel could not even be set up
    over_budget: int = 0  # alerts held by max_per_day


@dataclass
class CheckResult:
    alerts: list[Alert] = field(default_factory=list)  # due on at least one channel
    delivered: list[Notification] = field(default_factory=list)
    failed: list[Notification] = field(default_factory=list)  # logged instead
    held: bool = False  # quiet hours: nothing sent this time
    channels: list[ChannelResult] = field(default_factory=list)

    @property
    def any_failed(self) -> bool:
        return any(c.failed or c.problem for c in self.channels)


def with_subjects(store: Store, alerts: Sequence[Alert]) -> list[Alert]:
    """Each reply owed names the subject of their mail, when subjects are stored (one
    read for all of them)."""
    replies = [a.contact_id for a in alerts if a.kind == AlertKind.REPLY]
    subjects = store.reply_subjects(replies) if replies else {}
    worded = []
    for a in alerts:
        subject = subjects.get(a.contact_id) if a.kind == AlertKind.REPLY else None
        worded.append(replace(a, subject=" ".join(subject.split())[:120]) if subject else a)
    return worded


def as_channels(notifier: Notifier | Channels, config: Config) -> Channels:
    """``notifier`` as channels (a lone notifier is the first configured backend)."""
    if isinstance(notifier, Channels):
        return notifier
    return Channels([Channel(config.notify.backends[0], config.notify.backends[0], notifier)])


def deliver_on(
    store: Store,
    channel: Channel,
    notification: Notification,
    alerts: list[Alert],
    now: datetime,
    day: date,
) -> bool:
    """Deliver ``notification`` on one channel; once delivered, its alerts are told there.

    The one place a per-channel delivery happens (its alerts were claimed before).
    """
    if not channel.notifier.deliver(notification):
        return False
    store.record_told(alerts, now, channel.key, day)
    return True


@dataclass(frozen=True)
class Plan:
    """What one channel has to be told in this check."""

    channel: Channel
    due: list[Alert]
    first_run: bool  # nothing was ever told on this channel: sum them all up
    told: dict[tuple[int, str], Told] = field(default_factory=dict)  # the channel's state


def plan(store: Store, config: Config, channels: Channels, now: datetime) -> list[Plan]:
    """Per channel, the alerts due against that channel's own told-state."""
    contacts = store.contacts()
    plans = []
    for channel in channels.channels:
        told = store.told(channel.key)
        if due := lapses.due_alerts(contacts, config, now, told):
            plans.append(Plan(channel, due, first_run=not told, told=told))
    return plans


def tell_channel(
    store: Store,
    config: Config,
    todo: Plan,
    worded: dict[tuple[int, str], Alert],
    now: datetime,
    today: date,
    dry_run: bool,
    holder: str,
) -> ChannelResult:
    """One channel's part of a check: the budget, the claims, the words, the delivery."""
    channel, due = todo.channel, todo.due
    outcome = ChannelResult(label=channel.label)
    limit = config.notify.max_per_day
    if limit is not None and store.sent_on(channel.key, today) >= limit:
        log.info(
            "%s: %d notification(s) today already (max_per_day); %d alert(s) wait",
            channel.label,
            limit,
            len(due),
        )
        outcome.over_budget = len(due)
        return outcome
    if not dry_run:
        due = _claim(store, due, todo.told, channel.key, holder, now)
        if not due:  # another daemon is telling them on this channel
            return outcome
    outcome.notification = compose([worded[_key(a)] for a in due], now, first_run=todo.first_run)
    if dry_run:
        return outcome
    if deliver_on(store, channel, outcome.notification, due, now, today):
        log.info("told (%s): %s", channel.label, outcome.notification.summary)
    else:
        for alert in due:
            store.release_claim(alert, channel.key, holder)
        log_notification(outcome.notification, logging.WARNING)
        outcome.failed = True
    return outcome


def _key(alert: Alert) -> tuple[int, str]:
    return (alert.contact_id, str(alert.kind))


def _claim(
    store: Store,
    alerts: list[Alert],
    told: dict[tuple[int, str], Told],
    channel: str,
    holder: str,
    now: datetime,
) -> list[Alert]:
    """The alerts this caller won the claim on, on ``channel`` (the others are another
    daemon's). ``told`` lets a claim be retaken once its telling was recorded."""

    def told_at(a: Alert) -> datetime | None:
        last = told.get((a.contact_id, a.kind))
        return last.at if last is not None and last.basis == a.basis else None

    return [a for a in alerts if store.claim_alert(a, channel, holder, now, told_at=told_at(a))]


def check(
    store: Store,
    config: Config,
    notifier: Notifier | Channels,
    *,
    now: datetime | None = None,
    local_now: datetime | None = None,
    dry_run: bool = False,
    holder: str | None = None,
) -> CheckResult:
    """Tell what is due now on every channel; ``dry_run`` decides and composes but
    sends and records nothing."""
    now = now or datetime.now(UTC)
    local_now = local_now or now.astimezone()
    channels = as_channels(notifier, config)
    result = CheckResult(channels=[ChannelResult(label="", problem=p) for p in channels.problems])
    plans = plan(store, config, channels, now)
    seen: dict[tuple[int, str], Alert] = {}  # every alert due somewhere, once
    for todo in plans:
        for a in todo.due:
            seen.setdefault(_key(a), a)
    result.alerts = list(seen.values())
    if not result.alerts:
        return result
    if lapses.in_quiet_hours(config.notify.quiet, local_now.time()):
        log.info(
            "quiet hours: holding %d alert(s) until %s",
            len(result.alerts),
            config.notify.quiet_hours.split("-")[1] if config.notify.quiet_hours else "",
        )
        result.held = True
        return result
    worded = dict(zip(seen, with_subjects(store, list(seen.values())), strict=True))
    holder = holder or new_holder()
    for todo in plans:
        outcome = tell_channel(store, config, todo, worded, now, local_now.date(), dry_run, holder)
        result.channels.append(outcome)
        if outcome.notification is not None:
            (result.failed if outcome.failed else result.delivered).append(outcome.notification)
    return result
