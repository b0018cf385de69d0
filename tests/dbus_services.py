"""Small D-Bus services for the tests, on jeepney, on a real ``dbus-daemon``.

``BusService`` owns a well-known name on a bus (``tests.dbus_session.SessionBus``),
answers method calls from a table of handlers in a thread of this process, records
every call it received, and emits signals on request (from the connection that owns
the name, so clients that check the sender accept them).

``NotificationServer`` is a freedesktop.org notification server
(``org.freedesktop.Notifications``): Notify, CloseNotification, GetCapabilities,
GetServerInformation; ``press`` and ``close`` emit ActionInvoked and
NotificationClosed. ``PortalServer`` is the desktop portal's OpenURI.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from jeepney import DBusAddress, HeaderFields, MessageType, new_error, new_method_return, new_signal
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection
from jeepney.low_level import Message
from jeepney.wrappers import unwrap_msg

from tests.dbus_session import STARTUP, SessionBus

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
DEFAULT_CAPABILITIES = ("actions", "body", "body-markup")

#: A handler gets the call's arguments and returns (reply signature, reply body).
Handler = Callable[[tuple[Any, ...]], tuple[str, tuple[Any, ...]]]

_PRIMARY_OWNER = 1  # RequestName reply
_DO_NOT_QUEUE = 4  # RequestName flag
_POLL = 0.05  # seconds between checks for stop()


@dataclass(frozen=True)
class Call:
    """One method call the service received."""

    interface: str
    member: str
    args: tuple[Any, ...]
    sender: str


class BusService:
    """Owns ``address.bus_name`` on ``bus`` and answers calls to ``address.object_path``."""

    def __init__(self, bus: SessionBus, address: DBusAddress, handlers: dict[str, Handler]) -> None:
        self.address = address
        self.handlers = handlers  # member name -> handler, on address.interface
        self.calls: list[Call] = []
        self._lock = threading.Lock()  # guards sending and self.calls
        self._stopping = threading.Event()
        self.conn: DBusConnection = open_dbus_connection(bus=bus.address, auth_timeout=STARTUP)
        try:
            reply = unwrap_msg(
                self.conn.send_and_get_reply(
                    message_bus.RequestName(address.bus_name, _DO_NOT_QUEUE), timeout=STARTUP
                )
            )
            if reply[0] != _PRIMARY_OWNER:
                raise RuntimeError(f"{address.bus_name} is owned already")
        except BaseException:
            self.conn.close()
            raise
        self.unique_name: str = self.conn.unique_name
        self._thread = threading.Thread(target=self._serve, name=address.bus_name, daemon=True)
        self._thread.start()

    # --- serving ----------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                message = self.conn.receive(timeout=_POLL)
            except TimeoutError:
                continue
            except (OSError, ValueError):  # the bus went away, or stop() closed us
                return
            if message.header.message_type is MessageType.method_call:
                self._answer(message)

    def _answer(self, message: Message) -> None:
        fields = message.header.fields
        interface = fields.get(HeaderFields.interface, "")
        member = fields.get(HeaderFields.member, "")
        path = fields.get(HeaderFields.path, "")
        call = Call(interface, member, tuple(message.body), fields.get(HeaderFields.sender, ""))
        handler = self.handlers.get(member)
        if path != self.address.object_path or interface not in ("", self.address.interface):
            handler = None
        with self._lock:
            self.calls.append(call)
        if handler is None:
            reply = new_error(
                message,
                "org.freedesktop.DBus.Error.UnknownMethod",
                "s",
                (f"no method {interface}.{member} at {path}",),
            )
        else:
            signature, body = handler(call.args)
            reply = new_method_return(message, signature, body)
        self._send(reply)

    def _send(self, message: Message) -> None:
        with self._lock:
            self.conn.send(message)

    # --- for the tests ------------------------------------------------------------

    def calls_to(self, member: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.member == member]

    def emit(self, member: str, signature: str, body: tuple[Any, ...]) -> None:
        """Send a signal from the name's owner (returns once it is sent)."""
        self._send(new_signal(self.address, member, signature, body))

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=STARTUP)
        with contextlib.suppress(OSError):
            self.conn.close()


class NotificationServer(BusService):
    """org.freedesktop.Notifications with the given capabilities; records every call."""

    def __init__(self, bus: SessionBus, capabilities: Iterable[str] = DEFAULT_CAPABILITIES) -> None:
        self.capabilities = list(capabilities)
        self._last_id = 0
        self.open: set[int] = set()  # ids shown and not closed
        super().__init__(
            bus,
            NOTIFICATIONS,
            {
                "Notify": self._notify,
                "CloseNotification": self._close_notification,
                "GetCapabilities": lambda _args: ("as", (self.capabilities,)),
                "GetServerInformation": lambda _args: (
                    "ssss",
                    ("weakties-test-notifications", "weakties", "1.0", "1.2"),
                ),
            },
        )

    def _notify(self, args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        replaces_id = args[1]
        if replaces_id and replaces_id in self.open:
            notification_id = replaces_id
        else:
            self._last_id += 1
            notification_id = self._last_id
        self.open.add(notification_id)
        return "u", (notification_id,)

    def _close_notification(self, args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        (notification_id,) = args
        if notification_id in self.open:
            self.open.discard(notification_id)
            # reason 3: "closed by a call to CloseNotification"
            self._send(new_signal(NOTIFICATIONS, "NotificationClosed", "uu", (notification_id, 3)))
        return "", ()

    def notify_calls(self) -> list[dict[str, Any]]:
        """The Notify calls received, as plain Python values."""
        found = []
        for call in self.calls_to("Notify"):
            app, replaces, icon, summary, body, actions, hints, expire = call.args
            found.append(
                {
                    "app_name": app,
                    "replaces_id": replaces,
                    "icon": icon,
                    "summary": summary,
                    "body": body,
                    "actions": list(actions),
                    "hints": dict(hints),
                    "expire_timeout": expire,
                }
            )
        return found

    def press(self, notification_id: int, action: str) -> None:
        """The user clicks the button ``action`` of the notification."""
        self.emit("ActionInvoked", "us", (notification_id, action))

    def close(self, notification_id: int, reason: int = 2) -> None:
        """The notification goes away (reason 2: dismissed by the user)."""
        self.open.discard(notification_id)
        self.emit("NotificationClosed", "uu", (notification_id, reason))


class PortalServer(BusService):
    """org.freedesktop.portal.Desktop's OpenURI; records every call."""

    REQUEST = "/org/freedesktop/portal/desktop/request/1/weakties"

    def __init__(self, bus: SessionBus) -> None:
        super().__init__(bus, PORTAL, {"OpenURI": lambda _args: ("o", (self.REQUEST,))})

    def opened(self) -> list[str]:
        """The URIs asked for, in order."""
        return [call.args[1] for call in self.calls_to("OpenURI")]
