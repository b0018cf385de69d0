"""The ``push`` backend: one channel per Apprise URL (ntfy, Pushover, Telegram, json:// ...).

A push URL holds secrets (tokens, passwords, bot ids). This module owns keeping
them out of sight: every log line and error names a URL only in Apprise's
masked form (``url(privacy=True)``), and while Apprise or urllib3 work for us
a logging filter replaces every secret piece of the URL in their records too.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator

import apprise
from apprise.manager_plugins import NotificationManager

from syncd.notify.base import ActionRequest, Notification

log = logging.getLogger("weakties.notify.push")

#: Seconds to connect and to read, per delivery (Apprise's ``cto``/``rto``).
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0

#: Loggers that may print a raw URL or a piece of it while Apprise works.
_THIRD_PARTY_LOGGERS = ("apprise", "urllib3", "urllib3.connectionpool", "requests")


def _scheme(url: str) -> str:
    head, sep, _ = url.partition("://")
    return head.strip().lower() if sep else ""


def _secrets(raw: str, masked: str | None) -> list[str]:
    """The pieces of ``raw`` to hide, longest first.

    Always: the whole URL, its user info, every path segment and every query
    value (Apprise's own mask leaves some of these visible, e.g. json:// paths).
    The host too, unless Apprise's masked form shows it (pover://user@token).
    """
    body = raw.partition("://")[2]
    authority, _, rest = body.partition("/")
    path, _, query = rest.partition("?")
    userinfo, at, hostport = authority.rpartition("@")
    found = {raw, body}
    found.update(re.split(r"[:]", userinfo) if at else [])
    found.update(path.split("/"))
    for pair in re.split(r"[&;]", query):
        found.add(pair.partition("=")[2])
    host = hostport.rsplit(":", 1)[0] if ":" in hostport.lstrip("[") else hostport
    if masked is None or f"{host}" not in masked.partition("://")[2].partition("/")[0]:
        found.add(host)
    return sorted((s for s in found if len(s) >= 3), key=len, reverse=True)


def _redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "****")
    return text


class _Redact(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a broken record: drop its arguments rather than risk them
            text = str(record.msg)
        if record.exc_info:
            text = f"{text} ({record.exc_info[1]!r})"
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = _redact(text, self.secrets), None
        return True


@contextlib.contextmanager
def _redacted(secrets: list[str]) -> Iterator[None]:
    flt = _Redact(secrets)
    # a logger's filters only see records made on that very logger: cover every child too
    names = set(_THIRD_PARTY_LOGGERS) | {
        name
        for name in list(logging.root.manager.loggerDict)
        if name.split(".")[0] in _THIRD_PARTY_LOGGERS
    }
    loggers = [logging.getLogger(name) for name in sorted(names)]
    for lg in loggers:
        lg.addFilter(flt)
    try:
        yield
    finally:
        for lg in loggers:
            lg.removeFilter(flt)


_SCHEMAS: set[str] | None = None


def _known_schemes() -> set[str]:
    global _SCHEMAS
    if _SCHEMAS is None:
        _SCHEMAS = {s.lower() for s in NotificationManager().schemas()}
    return _SCHEMAS


def _instantiate(url: str) -> apprise.plugins.NotifyBase:
    """Apprise's plugin for ``url``, or ValueError with one line and no secret."""
    scheme = _scheme(url)
    if not scheme:
        raise ValueError("push URL is not of the form scheme://...")
    if scheme not in _known_schemes():
        raise ValueError(f"push URL scheme {scheme!r} is not one Apprise knows")
    with _redacted(_secrets(url, None)):
        plugin = apprise.Apprise.instantiate(url, asset=apprise.AppriseAsset())
    if plugin is None:
        raise ValueError(
            f"push URL with scheme {scheme!r} is malformed "
            "(see Apprise's documentation for that service)"
        )
    return plugin


def check_push_url(url: str) -> str:
    """Validate ``url`` at config load; returns its masked form, or ValueError (one line)."""
    shown = str(_instantiate(url).url(privacy=True))
    return _redact(shown, _secrets(url, shown))


def masked(url: str) -> str:
    """The URL as it may be shown; never raises."""
    try:
        return check_push_url(url)
    except ValueError:
        return f"{_scheme(url) or '?'}://****"


def push_body(notification: Notification) -> str:
    """The body with one ``mailto:`` line per alert that has an address."""
    lines = [notification.body] if notification.body else []
    for alert in notification.alerts:
        if alert.email:
            lines.append(f"mailto:{alert.email}")
    return "\n".join(lines)


class PushNotifier:
    """One push URL: told, failed and retried on its own."""

    def __init__(
        self,
        url: str,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        plugin = _instantiate(url)
        plugin.socket_connect_timeout = connect_timeout
        plugin.socket_read_timeout = read_timeout
        shown = str(plugin.url(privacy=True))
        self._secrets = _secrets(url, shown)
        self.masked_url = _redact(shown, self._secrets)
        self._apprise = apprise.Apprise(asset=apprise.AppriseAsset())
        self._apprise.add(plugin)

    def __repr__(self) -> str:
        return f"PushNotifier({self.masked_url!r})"

    def deliver(self, notification: Notification) -> bool:
        try:
            with _redacted(self._secrets):
                ok = bool(
                    self._apprise.notify(title=notification.summary, body=push_body(notification))
                )
        except Exception as exc:  # Apprise or its plugin failed in a way it did not catch
            log.warning("push to %s failed: %s", self.masked_url, type(exc).__name__)
            return False
        if not ok:
            log.warning("push to %s failed", self.masked_url)
        return ok

    def pending_actions(self) -> list[ActionRequest]:
        return []

    def open_uri(self, uri: str) -> bool:
        return False

    def close(self) -> None:
        self._apprise.clear()
