"""A private D-Bus session bus and a mock notification server for the tests.

``SessionBus`` runs ``dbus-daemon --session --nofork`` on a socket in a temp
dir (the same address across a restart, like ``$XDG_RUNTIME_DIR/bus``);
``NotificationServer`` runs python-dbusmock's ``notification_daemon`` template
on it, and reads back the calls it received (``GetCalls``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import dbus

NOTIFICATIONS = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
MOCK_IFACE = "org.freedesktop.DBus.Mock"
STARTUP = 30.0  # seconds allowed for a process to come up on a loaded machine


class SessionBus:
    def __init__(self, directory: Path) -> None:
        self.socket = directory / "bus"
        self.address = f"unix:path={self.socket}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> SessionBus:
        binary = shutil.which("dbus-daemon")
        if binary is None:
            raise RuntimeError("dbus-daemon is not installed (Debian package dbus)")
        self.socket.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [binary, "--session", "--nofork", "--nopidfile", f"--address={self.address}",
             "--print-address"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self.process.stdout is not None
        self.process.stdout.readline()  # printed once it listens
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=STARTUP)
            self.process = None

    def env(self) -> dict[str, str]:
        return {**os.environ, "DBUS_SESSION_BUS_ADDRESS": self.address}


class NotificationServer:
    """python-dbusmock's notification_daemon template, with the given capabilities."""

    def __init__(self, bus: SessionBus, capabilities: list[str]) -> None:
        self.bus = bus
        params = json.dumps({"capabilities": " ".join(capabilities)})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dbusmock", "--template", "notification_daemon", "-p", params],
            env=bus.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.conn = dbus.bus.BusConnection(bus.address)
        deadline = time.monotonic() + STARTUP
        while not self.conn.name_has_owner(NOTIFICATIONS):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the mock notification server did not start")
            time.sleep(0.05)
        self.mock = dbus.Interface(self.conn.get_object(NOTIFICATIONS, PATH), MOCK_IFACE)

    def notify_calls(self) -> list[dict[str, Any]]:
        """The Notify calls received, as plain Python values."""
        calls = []
        for _stamp, args in self.mock.GetMethodCalls("Notify"):
            app, _replaces, icon, summary, body, actions, hints, _timeout = args
            calls.append({"app_name": str(app), "summary": str(summary), "body": str(body),
                          "actions": [str(a) for a in actions], "icon": str(icon),
                          "hints": {str(k): v for k, v in hints.items()}})
        return calls

    def press(self, notification_id: int, action: str) -> None:
        self.mock.EmitSignal(NOTIFICATIONS, "ActionInvoked", "us",
                             [dbus.UInt32(notification_id), action])

    def stop(self) -> None:
        self.conn.close()
        self.process.terminate()
        self.process.wait(timeout=STARTUP)
