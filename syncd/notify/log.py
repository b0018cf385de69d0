"""The ``log`` backend: a lapse becomes one log line (the journal, under systemd).

It is also the fallback when another backend cannot deliver.
"""

from __future__ import annotations

import logging

from syncd.notify.base import ActionRequest, Notification

log = logging.getLogger("weakties.notify")


def log_notification(notification: Notification, level: int = logging.INFO) -> None:
    body = "; ".join(line for line in notification.body.splitlines() if line.strip())
    log.log(level, "%s: %s", notification.summary, body)


class LogNotifier:
    def deliver(self, notification: Notification) -> bool:
        log_notification(notification)
        return True

    def pending_actions(self) -> list[ActionRequest]:
        return []

    def open_uri(self, uri: str) -> bool:
        return False

    def close(self) -> None:
        pass
