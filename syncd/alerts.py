"""One lapse check: store -> lapses (decide) -> wording -> notifier (deliver) -> told.

Used by ``weakties check-lapses`` and after every poll of the daemon. An
alert is recorded as told only once its notification was delivered; one that
could not be (no desktop session, a failing command) is written to the log
instead and tried again at the next check.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from syncd import lapses
from syncd.config import Config
from syncd.errors import NotFound
from syncd.model import Alert, AlertKind
from syncd.notify.base import Notification, Notifier
from syncd.notify.log import log_notification
from syncd.notify.wording import compose
from syncd.store import Store

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


def check(
    store: Store,
    config: Config,
    notifier: Notifier,
    *,
    now: datetime | None = None,
    local_now: datetime | None = None,
    dry_run: bool = False,
) -> CheckResult:
    """Tell what is due now; ``dry_run`` decides and composes but sends and records nothing."""
    now = now or datetime.now(UTC)
    local_now = local_now or now.astimezone()
    alerts = lapses.due_alerts(store.contacts(), config, now, store.told())
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
    notification = compose([_with_subject(store, a) for a in alerts], now)
    if dry_run:
        result.delivered.append(notification)
        return result
    if notifier.deliver(notification):
        store.record_told(alerts, now)
        log.info("told: %s", notification.summary)
        result.delivered.append(notification)
    else:
        log_notification(notification, logging.WARNING)
        result.failed.append(notification)
    return result
