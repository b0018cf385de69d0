"""The ``desktop`` backend: the freedesktop.org notification service, over D-Bus (jeepney).

* Text is escaped for servers that advertise ``body-markup`` (they interpret
  the body as markup: a contact named ``<a href=...>`` must not become a link).
  The summary is plain text by the specification and is sent as such.
* Buttons ("Write", "Snooze 30d", "Mark as contacted") are offered only when
  the server advertises ``actions`` and this process stays to hear the answer
  (``interactive``); the ``ActionInvoked`` signals are collected without
  blocking by :meth:`DesktopNotifier.pending_actions`.
* No session bus, no notification server, a bus that went away: ``deliver``
  returns False (the caller logs the alert) and the next call connects afresh,
  so a restarted session bus (log out, log in) is picked up again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
from collections import OrderedDict, deque
from pathlib import Path
from typing import Any

from jeepney import DBusAddress, HeaderFields, MatchRule, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection
from jeepney.wrappers import DBusErrorResponse, unwrap_msg

from syncd.model import NotificationAction
from syncd.notify.base import ActionRequest, Notification

log = logging.getLogger("weakties.notify.desktop")

NOTIFICATIONS = DBusAddress(
    "/org/freedesktop/Notifications",
    bus_name="org.freedesktop.Notifications",
    interface="org.freedesktop.Notifications",
)
PORTAL = DBusAddress(
    "/org/freedesktop/portal/desktop",
    bus_name="org.freedesktop.portal.Desktop",
    interface="org.freedesktop.portal.OpenURI",
)
APP_NAME = "weakties"
REMEMBERED = 64  # shown notifications whose buttons we still answer


class Unavailable(Exception):
    """No session bus or no notification server."""


def session_bus_address() -> str:
    """$DBUS_SESSION_BUS_ADDRESS, else the systemd user bus socket."""
    if address := os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return address
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and (Path(runtime) / "bus").exists():
        return f"unix:path={Path(runtime) / 'bus'}"
    raise Unavailable("no session bus (DBUS_SESSION_BUS_ADDRESS is not set)")


def escape_markup(text: str) -> str:
    """Escape text for the notification body markup (a small XML subset)."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


# Failures that mean "the bus or the server is not (or no longer) there".
_GONE = (OSError, EOFError, RuntimeError, ValueError, DBusErrorResponse, Unavailable)


class DesktopNotifier:
    def __init__(self, *, interactive: bool = True, timeout: float = 5.0) -> None:
        self.interactive = interactive
        self.timeout = timeout
        self._conn: DBusConnection | None = None
        self._signals: deque[Any] = deque(maxlen=256)
        self._capabilities: frozenset[str] = frozenset()
        self._server: str | None = None  # the unique bus name of the notification server
        self._shown: OrderedDict[int, Notification] = OrderedDict()
        self._available = True  # whether the last attempt worked (to log changes once)

    # --- connection -----------------------------------------------------------

    def _connect(self) -> DBusConnection:
        if self._conn is not None:
            return self._conn
        try:
            conn = open_dbus_connection(bus=session_bus_address(), auth_timeout=self.timeout)
        except KeyError as exc:  # jeepney on a malformed address
            raise Unavailable(f"bad session bus address: {exc}") from None
        try:
            if self.interactive:
                rule = MatchRule(
                    type="signal", interface=NOTIFICATIONS.interface, path=NOTIFICATIONS.object_path
                )
                unwrap_msg(
                    conn.send_and_get_reply(message_bus.AddMatch(rule), timeout=self.timeout)
                )
                conn.filter(rule, queue=self._signals)
            caps = self._call(conn, NOTIFICATIONS, "GetCapabilities", "", ())
            self._capabilities = frozenset(caps[0])
            owner = unwrap_msg(
                conn.send_and_get_reply(
                    message_bus.GetNameOwner(NOTIFICATIONS.bus_name), timeout=self.timeout
                )
            )
            self._server = owner[0]
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
        self._conn, self._server = None, None
        self._shown.clear()
        self._signals.clear()

    def _call(
        self,
        conn: DBusConnection,
        address: DBusAddress,
        member: str,
        signature: str,
        body: tuple[Any, ...],
    ) -> tuple[Any, ...]:
        message = new_method_call(address, member, signature, body)
        return tuple(unwrap_msg(conn.send_and_get_reply(message, timeout=self.timeout)))

    # --- delivering -----------------------------------------------------------

    def deliver(self, notification: Notification) -> bool:
        for attempt in (1, 2):
            fresh = self._conn is None
            try:
                conn = self._connect()
                notification_id = self._notify(conn, notification)
            except _GONE as exc:
                self._drop()
                if fresh or attempt == 2:  # a stale connection gets one fresh try
                    if self._available:
                        log.warning(
                            "desktop notifications unavailable (%s); logging "
                            "instead, will try again next time",
                            _describe(exc),
                        )
                    self._available = False
                    return False
                continue
            if not self._available:
                log.info("desktop notifications are back")
            self._available = True
            self._remember(notification_id, notification)
            return True
        return False  # not reached

    def _notify(self, conn: DBusConnection, notification: Notification) -> int:
        body = notification.body
        if "body-markup" in self._capabilities:
            body = escape_markup(body)
        actions: list[str] = []
        if self.interactive and "actions" in self._capabilities:
            for key, label in notification.actions:
                actions += [str(key), label]
        hints = {"urgency": ("y", 1), "category": ("s", "email")}
        reply = self._call(
            conn,
            NOTIFICATIONS,
            "Notify",
            "susssasa{sv}i",
            (
                APP_NAME,
                0,
                "mail-message-new",
                _one_line(notification.summary),
                body,
                actions,
                hints,
                -1,
            ),
        )
        return int(reply[0])

    def _remember(self, notification_id: int, notification: Notification) -> None:
        if not (self.interactive and notification.actions):
            return
        self._shown[notification_id] = notification
        while len(self._shown) > REMEMBERED:
            self._shown.popitem(last=False)

    # --- buttons ----------------------------------------------------------------

    def pending_actions(self) -> list[ActionRequest]:
        if self._conn is None or not self.interactive:
            return []
        try:
            while True:
                self._conn.recv_messages(timeout=0)
        except TimeoutError:
            pass
        except _GONE:
            self._drop()  # the bus went away; the next delivery reconnects
            return []
        requests = []
        while self._signals:
            message = self._signals.popleft()
            if message.header.fields.get(HeaderFields.sender) != self._server:
                continue  # only the notification server may press our buttons
            member = message.header.fields.get(HeaderFields.member)
            if member == "ActionInvoked":
                notification_id, key = message.body
                shown = self._shown.get(notification_id)
                if (
                    shown is not None
                    and len(shown.alerts) == 1
                    and key in {k for k, _ in shown.actions}
                ):
                    del self._shown[notification_id]  # one answer per notification
                    requests.append(ActionRequest(NotificationAction(key), shown.alerts[0]))
            elif member == "NotificationClosed":
                self._shown.pop(message.body[0], None)
        return requests

    def open_uri(self, uri: str) -> bool:
        """Ask the desktop portal to open the link (outside this sandbox), else xdg-open."""
        try:
            conn = self._connect()
            self._call(conn, PORTAL, "OpenURI", "ssa{sv}", ("", uri, {}))
            return True
        except _GONE as exc:
            log.debug("portal OpenURI failed: %s", _describe(exc))
        opener = shutil.which("xdg-open")
        if opener is None:
            log.warning("cannot open %s: no desktop portal and no xdg-open", uri.split(":")[0])
            return False
        subprocess.Popen(
            [opener, uri],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        return True

    def close(self) -> None:
        self._drop()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, DBusErrorResponse):
        return exc.name or "D-Bus error"
    return str(exc) or exc.__class__.__name__
