"""The ``push`` backend: one channel per Apprise URL (ntfy, Pushover, Telegram, json:// ...).

A push URL holds secrets (tokens, passwords, bot ids). This module owns keeping
them out of sight: every log line and error names a URL only in Apprise's
masked form (``url(privacy=True)``), and while Apprise or urllib3 work for us
a logging filter replaces every secret piece of the URL in their records too.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import subprocess
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


def _display(url: str, plugin: apprise.plugins.NotifyBase) -> str:
    """``url`` as it may be shown: Apprise's masked form without its query (Apprise's
    own options), every user name, password, path segment and hidden host as ``****``:
    ``json://127.0.0.1:8080/****``, ``ntfys://ntfy.sh/****``."""
    shown = str(plugin.url(privacy=True)).split("?", 1)[0]
    whole = {url, url.partition("://")[2]}
    scheme, sep, rest = shown.partition("://")
    pieces = [p for p in _secrets(url, shown) if p not in whole]
    return scheme + sep + _redact(rest, pieces)


def check_push_url(url: str) -> str:
    """Validate ``url`` at config load; returns its masked form, or ValueError (one line)."""
    return _display(url, _instantiate(url))


def check_push_urls(urls: list[str], key: str) -> None:
    """Every URL of ``urls`` at config load; ValueError ``key[i] masked: why`` (one line)."""
    for i, url in enumerate(urls):
        try:
            check_push_url(url)
        except ValueError as exc:
            raise ValueError(f"{key}[{i}] {masked(url)}: {exc}") from None


def channel_key(url: str) -> str:
    """The told-state key of a push URL: stable, short, no secret in it."""
    return "push:" + hashlib.sha256(url.strip().encode()).hexdigest()[:16]


COMMAND_TIMEOUT = 60.0
KEYRING_ENTRY = "notify.push"  # keyring: weakties / notify.push = URLs, whitespace-separated


def urls_from_command(argv: list[str]) -> list[str]:
    """Run ``push_urls_command`` (never through a shell): one URL per line.

    Blank lines and ``#`` comments are skipped. ValueError (one line, none of
    its output) when it cannot run, fails or prints nothing.
    """
    where = f"notify.push_urls_command ({argv[0]})"
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        why = exc.strerror if isinstance(exc, OSError) else f"no answer in {COMMAND_TIMEOUT:g}s"
        raise ValueError(f"{where}: cannot run it ({why})") from None
    if done.returncode != 0:
        raise ValueError(f"{where}: exited with status {done.returncode}")
    urls = [u.strip() for u in done.stdout.splitlines() if u.strip() and not u.startswith("#")]
    if not urls:
        raise ValueError(f"{where}: printed no URL")
    return urls


def urls_from_keyring() -> list[str]:
    """The URLs kept in the keyring entry ``weakties`` / ``notify.push``; ValueError if none."""
    from syncd.errors import SecretError
    from syncd.secrets import keyring_secret

    try:
        stored = keyring_secret(KEYRING_ENTRY)
    except SecretError as exc:
        raise ValueError(f"push: {exc}") from None
    if not stored or not stored.split():
        raise ValueError(
            "push: no URL (set [notify] push_urls or push_urls_command, or store them "
            f"in the keyring as weakties / {KEYRING_ENTRY})"
        )
    return stored.split()


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
        self.masked_url = _display(url, plugin)
        self._secrets = _secrets(url, self.masked_url)
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
