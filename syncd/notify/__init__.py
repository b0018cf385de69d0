"""Notifier backends, one module each; :func:`make_notifier` picks the configured one.

``desktop`` (the default) talks to the freedesktop notification service,
``command`` runs the user's argv template, ``log`` writes to the log.
"""

from __future__ import annotations

from syncd.config import Config
from syncd.notify.base import ActionRequest, Notification, Notifier

__all__ = ["ActionRequest", "Notification", "Notifier", "make_notifier"]


def make_notifier(config: Config, *, interactive: bool) -> Notifier:
    """The configured backend. ``interactive``: this process stays to answer buttons."""
    backend = config.notify.backend
    if backend == "command":
        from syncd.notify.command import CommandNotifier

        assert config.notify.command  # the config checked it
        return CommandNotifier(config.notify.command)
    if backend == "log":
        from syncd.notify.log import LogNotifier

        return LogNotifier()
    from syncd.notify.desktop import DesktopNotifier

    return DesktopNotifier(interactive=interactive)
