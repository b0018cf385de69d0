"""Notifier backends, one module each; :func:`make_channels` builds the configured channels.

``desktop`` (the default) talks to the freedesktop notification service,
``command`` runs the user's argv template, ``log`` writes to the log, ``push``
sends through Apprise, one channel per URL. ``[notify] backend`` may name
several: every alert goes to each channel, and each is told, fails and is
retried on its own (``syncd.alerts``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from syncd.config import Config
from syncd.notify.base import ActionRequest, Notification, Notifier

__all__ = [
    "ActionRequest",
    "Channel",
    "Channels",
    "Notification",
    "Notifier",
    "make_channels",
    "make_notifier",
]

_log = logging.getLogger("weakties.notify")  # not "log": syncd.notify.log is a submodule


@dataclass(frozen=True)
class Channel:
    """One place alerts are told: its told-state key, its name for people, its notifier."""

    key: str  # "desktop", "command", "log", "push:<hash of the URL>"
    label: str  # "desktop", "push ntfy://ntfy.sh/****" (never a secret)
    notifier: Notifier


@dataclass
class Channels:
    """All the configured channels; also a :class:`Notifier` (buttons come from any)."""

    channels: list[Channel] = field(default_factory=list)
    #: channels that could not be set up (a push URL command failed): one line each
    problems: list[str] = field(default_factory=list)

    def deliver(self, notification: Notification) -> bool:
        results = [c.notifier.deliver(notification) for c in self.channels]
        return all(results) and not self.problems

    def pending_actions(self) -> list[ActionRequest]:
        return [r for c in self.channels for r in c.notifier.pending_actions()]

    def open_uri(self, uri: str) -> bool:
        return any(c.notifier.open_uri(uri) for c in self.channels)

    def close(self) -> None:
        for c in self.channels:
            c.notifier.close()


def _push_channels(config: Config, out: Channels) -> None:
    from syncd.notify import push

    notify = config.notify
    try:
        if notify.push_urls is not None:
            urls = list(notify.push_urls)
        elif notify.push_urls_command is not None:
            urls = push.urls_from_command(notify.push_urls_command)
        else:
            urls = push.urls_from_keyring()
    except ValueError as exc:
        out.problems.append(str(exc))
        return
    for i, url in enumerate(urls):
        try:
            notifier = push.PushNotifier(url)
        except ValueError as exc:
            out.problems.append(f"push URL {i + 1} ({push.masked(url)}): {exc}")
            continue
        out.channels.append(Channel(push.channel_key(url), f"push {notifier.masked_url}", notifier))


def make_channels(config: Config, *, interactive: bool) -> Channels:
    """The configured channels. ``interactive``: this process stays to answer buttons."""
    out = Channels()
    for backend in config.notify.backends:
        if backend == "command":
            from syncd.notify.command import CommandNotifier

            assert config.notify.command  # the config checked it
            out.channels.append(
                Channel("command", "command", CommandNotifier(config.notify.command))
            )
        elif backend == "log":
            from syncd.notify.log import LogNotifier

            out.channels.append(Channel("log", "log", LogNotifier()))
        elif backend == "push":
            _push_channels(config, out)
        else:
            from syncd.notify.desktop import DesktopNotifier

            out.channels.append(
                Channel("desktop", "desktop", DesktopNotifier(interactive=interactive))
            )
    for problem in out.problems:
        _log.warning("%s", problem)
    return out


def make_notifier(config: Config, *, interactive: bool) -> Channels:
    """The configured channels as one notifier (what the daemon is handed)."""
    return make_channels(config, interactive=interactive)
