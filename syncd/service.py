"""The systemd user unit: its text, installing it, and asking systemd how it runs.

``systemd/weakties.service`` in the repository is :func:`render_unit` with
the defaults (a test keeps the two equal); ``weakties service install``
renders it with the absolute path of this ``weakties`` and the real data
directory, and writes it to ``~/.config/systemd/user/``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from syncd import dburl
from syncd.accounts import REGISTRY
from syncd.config import Config

UNIT_NAME = "weakties.service"
DEFAULT_EXEC = ["/usr/bin/env", "weakties", "daemon"]
DEFAULT_DATA_DIR = "%h/.local/share/weakties"

_TEMPLATE = """\
# weakties: the background service, as a systemd user unit.
# 'weakties service install' writes this file with ExecStart= and
# ReadWritePaths= filled in for your installation; then:
#   systemctl --user enable --now weakties
[Unit]
Description=weakties: tells you when someone you care about has gone quiet
StartLimitIntervalSec=10min
StartLimitBurst=5

[Service]
Type=notify
ExecStart={exec_start}
{environment}Restart=on-failure
RestartSec=30s
# 2 is a configuration error: restarting would not fix it.
RestartPreventExitStatus=2
WatchdogSec=5min
TimeoutStopSec=15s

# Hardening that works in user units (the mount options imply PrivateUsers=).
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=strict
ReadWritePaths={writable}
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
UMask=0077

[Install]
WantedBy=default.target
"""


def _quote(arg: str) -> str:
    """One ExecStart= / ReadWritePaths= word: specifiers and variables escaped, quoted."""
    arg = arg.replace("%", "%%") if not arg.startswith("%h") else arg
    arg = arg.replace("$", "$$")
    if any(c in arg for c in " \t\"\\'"):
        arg = '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return arg


def render_unit(
    exec_start: list[str] | None = None,
    writable: list[str] | None = None,
    environment: dict[str, str] | None = None,
) -> str:
    env = "".join(f"Environment={_quote(f'{k}={v}')}\n" for k, v in (environment or {}).items())
    return _TEMPLATE.format(
        exec_start=" ".join(_quote(a) for a in exec_start or DEFAULT_EXEC),
        writable=" ".join(_quote(p) for p in writable or [DEFAULT_DATA_DIR]),
        environment=env,
    )


def unit_path() -> Path:
    return Path(platformdirs.user_config_dir("systemd")) / "user" / UNIT_NAME


def weakties_command() -> list[str]:
    """The absolute command that runs this installation of weakties."""
    found = shutil.which("weakties")
    if found:
        return [str(Path(found).absolute())]
    return [sys.executable, "-m", "syncd"]


def sqlite_directory(database_url: str) -> Path | None:
    """The directory of a SQLite database file (the unit must let it be written)."""
    path = dburl.sqlite_file(database_url)
    return path.parent if path is not None else None


@dataclass(frozen=True)
class Installed:
    path: Path
    created: bool  # False: an existing unit was replaced


def install(config: Config, explicit_config: bool) -> Installed:
    """Write the unit for this installation; create the directories it may write
    (the database's, and those each account's type names, such as a token file's)."""
    command = [*weakties_command()]
    if explicit_config:
        command += ["--config", str(config.path.expanduser().absolute())]
    command.append("daemon")
    environment = {}
    if os.environ.get("WEAKTIES_DB"):
        environment["WEAKTIES_DB"] = os.environ["WEAKTIES_DB"]
    writable = []
    if (directory := sqlite_directory(config.database_url)) is not None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        writable.append(str(directory))
    else:  # another database server: nothing local to write but the default dir
        Path(platformdirs.user_data_dir("weakties")).mkdir(parents=True, exist_ok=True, mode=0o700)
    for account in config.accounts:
        for directory in REGISTRY[account.type].writable(account.settings):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            writable.append(str(directory))
    text = render_unit(command, writable or None, environment)
    path = unit_path()
    created = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return Installed(path, created)


def user_session() -> str | None:
    """None when a systemd user manager answers; else why not (no systemctl, no bus)."""
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return "systemctl not found"
    return _systemctl(systemctl, ["show-environment"], 15, "systemctl --user does not answer")


def cron_line(config: Config, explicit_config: bool) -> str:
    """The crontab line that does the daemon's work every 15 minutes, without systemd."""
    command = [*weakties_command()]
    if explicit_config:
        command += ["--config", str(config.path.expanduser().absolute())]
    run = " ".join(shlex.quote(a) for a in command)
    return f"*/15 * * * * {run} sync && {run} check-lapses"


def start() -> str | None:
    """Enable and start the installed unit now; None, or why it could not."""
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return "systemctl not found"
    for args in (["daemon-reload"], ["enable", "--now", UNIT_NAME]):
        if (problem := _systemctl(systemctl, args, 60, "systemctl failed")) is not None:
            return problem
    return None


def _systemctl(systemctl: str, args: list[str], timeout: float, otherwise: str) -> str | None:
    """Run ``systemctl --user ARGS``; None, or its first line of complaint."""
    try:
        done = subprocess.run(
            [systemctl, "--user", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"systemctl failed: {exc}"
    if done.returncode != 0:
        return (done.stderr.strip().splitlines() or [otherwise])[0]
    return None


@dataclass(frozen=True)
class Running:
    state: str  # "active", "inactive", "failed", ... or "unknown"
    detail: str  # SubState and since when, or why it is unknown
    pid: int | None


def running() -> Running:
    """What the user's systemd says about the unit."""
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return Running("unknown", "systemctl not found", None)
    try:
        done = subprocess.run(
            [
                systemctl,
                "--user",
                "show",
                UNIT_NAME,
                "--property=ActiveState,SubState,MainPID,ActiveEnterTimestamp,LoadState",
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Running("unknown", f"systemctl failed: {exc}", None)
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["systemctl failed"])[0]
        return Running("unknown", why, None)
    props = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    if props.get("LoadState") == "not-found":
        return Running("not installed", "run 'weakties service install'", None)
    pid = int(props.get("MainPID") or 0) or None
    detail = props.get("SubState", "")
    if props.get("ActiveEnterTimestamp"):
        detail += f" since {props['ActiveEnterTimestamp']}"
    return Running(props.get("ActiveState", "unknown"), detail, pid)
