"""A real desktop for the tests: a virtual X display (Xvfb), a private session bus
(tests/dbus_session.py) and the dunst notification server on them.

``with DunstDesktop(directory) as desk``: ``desk.env`` (DISPLAY and
DBUS_SESSION_BUS_ADDRESS), ``desk.dunstctl(...)``, ``desk.history()`` (dunst's own
JSON, as plain values), ``desk.choose(pattern)`` (opens dunst's context menu and
picks the first entry matching ``pattern``, as a user would in dmenu; returns the
entries dunst offered) and ``desk.screenshot(path)`` (ImageMagick's ``import``).
Debian packages: xvfb, dunst, imagemagick.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.dbus_session import STARTUP, SessionBus
from tests.dovecot import stop_process

SCREEN = "640x185x24"
DUNSTRC = """\
[global]
    font = DejaVu Sans 11
    markup = full
    format = "<b>%s</b>\\n%b"
    width = 600
    origin = top-right
    offset = 10x10
    frame_width = 2
    padding = 10
    horizontal_padding = 10
    separator_height = 4
    history_length = 20
    show_indicators = no
    dmenu = {dmenu}
[urgency_low]
    timeout = 0
[urgency_normal]
    timeout = 0
[urgency_critical]
    timeout = 0
"""

#: dunst's "dmenu": records what it was offered, picks the first line matching the
#: regular expression in the file next to it (the test's choice), prints it.
DMENU = """\
import pathlib, re, sys
here = pathlib.Path(sys.argv[1])
offered = sys.stdin.read()
(here / "offered.txt").write_text(offered)
pattern = (here / "choice.txt").read_text()
for line in offered.splitlines():
    if re.search(pattern, line):
        print(line)
        break
"""


def _need(binary: str, package: str) -> str:
    found = shutil.which(binary)
    if found is None:
        raise RuntimeError(f"{binary} is not installed (Debian package {package})")
    return found


class DunstDesktop:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.bus = SessionBus(directory)
        self.xvfb: subprocess.Popen[bytes] | None = None
        self.dunst: subprocess.Popen[bytes] | None = None
        self.env: dict[str, str] = {}

    def __enter__(self) -> DunstDesktop:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        xvfb = _need("Xvfb", "xvfb")
        dunst = _need("dunst", "dunst")
        _need("dunstctl", "dunst")
        read, write = os.pipe()
        self.xvfb = subprocess.Popen(
            [xvfb, "-displayfd", str(write), "-screen", "0", SCREEN, "-nolisten", "tcp"],
            pass_fds=(write,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write)
        with os.fdopen(read) as numbers:
            display = numbers.readline().strip()  # written once it accepts connections
        if not display:
            raise RuntimeError("Xvfb did not start")
        self.bus.start()
        script = self.dir / "dmenu.py"
        script.write_text(DMENU)
        (self.dir / "choice.txt").write_text("^$")
        dmenu = f"{sys.executable} {script} {self.dir}"
        config = self.dir / "dunstrc"
        config.write_text(DUNSTRC.format(dmenu=dmenu))
        self.env = {
            **os.environ,
            "DISPLAY": f":{display}",
            "DBUS_SESSION_BUS_ADDRESS": self.bus.address,
        }
        self.dunst = subprocess.Popen(
            [dunst, "-config", str(config)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + STARTUP
        while time.monotonic() < deadline:  # dunstctl answers once dunst owns its name
            if self.dunstctl("is-paused", check=False).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("dunst did not come up on the session bus")

    def stop(self) -> None:
        stop_process(self.dunst)
        self.dunst = None
        self.bus.stop()
        stop_process(self.xvfb)
        self.xvfb = None

    def dunstctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["dunstctl", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=STARTUP,
            check=check,
        )

    def displayed(self) -> int:
        return int(self.dunstctl("count", "displayed").stdout)

    def wait_displayed(self, count: int) -> None:
        deadline = time.monotonic() + STARTUP
        while self.displayed() != count:
            if time.monotonic() > deadline:
                raise AssertionError(f"dunst shows {self.displayed()} notifications, not {count}")
            time.sleep(0.05)

    def history(self) -> list[dict[str, Any]]:
        """``dunstctl history``: the closed notifications, newest first, as plain values."""
        data = json.loads(self.dunstctl("history").stdout)
        return [{k: v["data"] for k, v in entry.items()} for entry in data["data"][0]]

    def choose(self, pattern: str) -> list[str]:
        """Open dunst's context menu and pick the entry matching ``pattern``; the entries
        offered."""
        offered = self.dir / "offered.txt"
        offered.unlink(missing_ok=True)
        (self.dir / "choice.txt").write_text(pattern)
        self.dunstctl("context")
        deadline = time.monotonic() + STARTUP
        while not offered.exists():
            if time.monotonic() > deadline:
                raise AssertionError("dunst did not open its context menu")
            time.sleep(0.05)
        time.sleep(0.1)  # the file is written in one call; let it land
        return offered.read_text().splitlines()

    def screenshot(self, path: Path) -> None:
        """The whole virtual screen as PNG (ImageMagick's ``import``)."""
        importer = _need("import", "imagemagick")
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [importer, "-window", "root", str(path)], env=self.env, check=True, timeout=STARTUP
        )
