"""What every notifier is handed and what it offers: the notification and the interface.

A notifier only delivers. Whom to tell, when, and in what words is decided
before it is called (``syncd.lapses`` and ``syncd.notify.wording``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from syncd.model import Alert, NotificationAction

#: Buttons a single-contact notification offers: (action key, label).
ACTIONS: tuple[tuple[NotificationAction, str], ...] = (
    (NotificationAction.WRITE, "Write"),
    (NotificationAction.SNOOZE, "Snooze 30d"),
    (NotificationAction.CONTACTED, "Mark as contacted"),
)


@dataclass(frozen=True)
class Notification:
    """One message for the user, about one or several alerts."""

    summary: str  # one line, plain text
    body: str  # plain text; a backend escapes it as its medium requires
    alerts: tuple[Alert, ...]
    #: Placeholders for the command backend ({name}, {days}, ...), all strings.
    fields: dict[str, str] = field(default_factory=dict)
    actions: tuple[tuple[NotificationAction, str], ...] = ()  # offered where the medium has buttons


@dataclass(frozen=True)
class ActionRequest:
    """The user pressed a notification's button."""

    action: NotificationAction
    alert: Alert


class Notifier(Protocol):
    def deliver(self, notification: Notification) -> bool:
        """Show it; False when it could not be (the caller logs it and retries later)."""
        ...

    def pending_actions(self) -> list[ActionRequest]:
        """Buttons pressed since the last call (never blocks)."""
        ...

    def open_uri(self, uri: str) -> bool:
        """Open a link (mailto:) in the user's desktop; False when it could not."""
        ...

    def close(self) -> None: ...
