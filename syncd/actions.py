"""What a notification's buttons do: write (open a mailto: link), snooze 30 days,
or mark as contacted (a touch, which ends the lapse)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from urllib.parse import quote

from syncd.errors import NotFound
from syncd.model import NotificationAction
from syncd.notify.base import ActionRequest, Notifier
from syncd.store import Store

log = logging.getLogger("weakties.actions")

SNOOZE_FOR = timedelta(days=30)
TOUCH_NOTE = "marked as contacted from a notification"


def mailto(address: str) -> str:
    return "mailto:" + quote(address.strip(), safe="@+.-_")


def perform(request: ActionRequest, store: Store, notifier: Notifier, now: datetime) -> None:
    alert = request.alert
    try:
        if request.action == NotificationAction.WRITE and alert.email:
            notifier.open_uri(mailto(alert.email))
            log.info("%s: opening a mail to them", alert.name)
        elif request.action == NotificationAction.SNOOZE:
            store.snooze(alert.name, now + SNOOZE_FOR)
            log.info("%s: snoozed for 30 days", alert.name)
        elif request.action == NotificationAction.CONTACTED:
            store.add_touch(alert.name, now, TOUCH_NOTE)
            log.info("%s: marked as contacted", alert.name)
    except NotFound as exc:  # renamed or removed since the notification
        log.warning("notification button for %s: %s", alert.name, exc)
