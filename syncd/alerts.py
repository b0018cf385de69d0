"""One lapse check: store -> lapses (decide) -> wording -> notifier (deliver) -> told.

Used by ``weakties check-lapses`` and after every poll of the daemon. An
alert is recorded as told only once its notification was delivered; one that
could not be (no desktop session, a failing command) is written to the log
instead and tried again at the next check.

Several daemons may share one database: each alert is claimed in it
(``Store.claim_alert``, an INSERT only one can win) before it is delivered,
and the claim is released when delivery fails, so each lapse is told once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from syncd import lapses
from syncd.config import Config
from syncd.errors import NotFound
from syncd.model import Alert, AlertKind, Told
from syncd.notify.base import Notification, Notifier
from syncd.notify.log import log_notification
from syncd.notify.wording import compose
from syncd.store import Store, new_holder

log = logging.getLogger("weakties.alerts")


@dataclass
class CheckResult:
    alerts: list[Alert] = field(default_factory=list)
    delivered: list[Notification] = field(default_factory=list)
    failed: list[Notification] = field(default_factory=list)  # logged instead
    held: bool = False  # quiet hours: nothing sent this time


def _with_subject(store: Store, alert: Alert) -> Alert:
    """A reply owed names the subject of their mail, when subjects are stored."""
    if alert.kind != AlertKind.REPLY:
        return alert
    try:
        _, _, entries = store.evidence(alert.name, 1)
    except NotFound:
        return alert
    if entries and entries[0]["direction"] == "received" and entries[0]["subject"]:
        return replace(alert, subject=" ".join(entries[0]["subject"].split())[:120])
    return alert


CHANNEL = "default"  # the claim's channel (one delivery per check)


def _claim(
    store: Store, alerts: list[Alert], told: dict[tuple[int, str], Told], holder: str, now: datetime
) -> list[Alert]:
    """The alerts this caller won the claim on (the others are another daemon's)."""

    def told_at(a: Alert) -> datetime | None:
        last = told.get((a.contact_id, a.kind))
        return last.at if last is not None and last.basis == a.basis else None

    return [a for a in alerts if store.claim_alert(a, CHANNEL, holder, now, told_at=told_at(a))]


def check(
    store: Store,
    config: Config,
    notifier: Notifier,
    *,
    now: datetime | None = None,
    local_now: datetime | None = None,
    dry_run: bool = False,
    holder: str | None = None,
) -> CheckResult:
    """Tell what is due now; ``dry_run`` decides and composes but sends and records nothing."""
    now = now or datetime.now(UTC)
    local_now = local_now or now.astimezone()
    told = store.told()
    alerts = lapses.due_alerts(store.contacts(), config, now, told)
    result = CheckResult(alerts=alerts)
    if not alerts:
        return result
    if lapses.in_quiet_hours(config.notify.quiet, local_now.time()):
        log.info(
            "quiet hours: holding %d alert(s) until %s",
            len(alerts),
            config.notify.quiet_hours.split("-")[1] if config.notify.quiet_hours else "",
        )
        result.held = True
        return result
    if dry_run:
        result.delivered.append(compose([_with_subject(store, a) for a in alerts], now))
        return result
    holder = holder or new_holder()
    result.alerts = alerts = _claim(store, alerts, told, holder, now)
    if not alerts:  # another daemon is telling them
        return result
    notification = compose([_with_subject(store, a) for a in alerts], now)
    if notifier.deliver(notification):
        store.record_told(alerts, now)
        log.info("told: %s", notification.summary)
        result.delivered.append(notification)
    else:
        for alert in alerts:
            store.release_claim(alert, CHANNEL, holder)
        log_notification(notification, logging.WARNING)
        result.failed.append(notification)
    return result
