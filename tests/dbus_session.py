"""A private D-Bus session bus for the tests.

``SessionBus`` runs the real ``dbus-daemon --session --nofork`` on a socket in a
temp dir (the same address across a restart, like ``$XDG_RUNTIME_DIR/bus``).
The services the tests put on it live in ``tests/dbus_services.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

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
            [
                binary,
                "--session",
                "--nofork",
                "--nopidfile",
                f"--address={self.address}",
                "--print-address",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
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
