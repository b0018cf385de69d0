"""The systemd user unit (verified by systemd-analyze), ``service install`` and
``service status``, and the sd_notify messages the daemon sends."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from syncd.service import render_unit
from tests.helpers import make_env
from tests.test_daemon import WAIT, Daemon, notify_section

ROOT = Path(__file__).resolve().parent.parent
REPO_UNIT = ROOT / "systemd" / "weakties.service"


def verify(unit: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing (Debian package systemd)")
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "SYSTEMD_LOG_LEVEL": "notice"}
    return subprocess.run(
        [analyze, "--user", "verify", "--recursive-errors=yes", str(unit)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_repository_unit_is_the_rendered_template() -> None:
    assert REPO_UNIT.read_text() == render_unit()


def test_repository_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    done = verify(REPO_UNIT, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == ""


def test_verify_would_catch_a_typo(tmp_path: Path) -> None:
    broken = tmp_path / "weakties.service"
    broken.write_text(render_unit().replace("NoNewPrivileges=", "NoNewPrivilege="))
    assert "Unknown key" in verify(broken, tmp_path).stderr


def test_service_install_writes_a_unit_that_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config home"))
    env = make_env(tmp_path)
    first = env.run("service", "install")
    assert first.exit_code == 0, first.output
    unit = tmp_path / "config home" / "systemd" / "user" / "weakties.service"
    assert first.stdout.splitlines() == [f"wrote {unit}", "systemctl --user enable --now weakties"]
    text = unit.read_text()
    [exec_start] = [line for line in text.splitlines() if line.startswith("ExecStart=")]
    assert exec_start.endswith(f"--config {env.config} daemon")
    assert f"ReadWritePaths={env.db.parent}" in text
    assert env.db.parent.is_dir()  # created, so the sandbox can make it writable
    assert f"Environment=WEAKTIES_DB=sqlite:///{env.db}" in text
    done = verify(unit, tmp_path)
    assert done.returncode == 0, done.stderr
    again = env.run("service", "install")
    assert again.stdout.startswith(f"updated {unit}")


def test_service_install_lets_the_daemon_write_token_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    tokens = tmp_path / "tokens"
    env = make_env(
        tmp_path,
        '[[account]]\nname = "g"\ntype = "gmail"\n'
        f'client_secrets = "{tmp_path}/c.json"\ntoken_file = "{tokens}/g.json"\n',
    )
    result = env.run("service", "install", "--now")
    unit = (tmp_path / "xdg" / "systemd" / "user" / "weakties.service").read_text()
    assert f"ReadWritePaths={env.db.parent} {tokens}" in unit
    assert tokens.is_dir()  # refreshed tokens can be saved from inside the sandbox
    # Started where a user systemd runs; else an error naming the fallbacks.
    if result.exit_code == 0:
        assert "now runs in the background" in result.stdout
    else:
        assert result.exit_code == 1 and "no systemd user session found" in result.stderr


def fake_systemctl(tmp_path: Path, script: str) -> Path:
    """A ``systemctl`` on PATH that logs its arguments and runs ``script`` (sh)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / "systemctl"
    tool.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/systemctl.log\n{script}\n')
    tool.chmod(0o755)
    return bin_dir


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("empty", "systemctl not found"),
        ("no bus", "Failed to connect to bus: No medium found"),
    ],
)
def test_install_now_without_a_user_systemd_fails_with_the_fallbacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str, why: str
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    if path == "empty":
        monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    else:
        script = 'echo "Failed to connect to bus: No medium found" >&2; exit 1'
        monkeypatch.setenv("PATH", f"{fake_systemctl(tmp_path, script)}:/usr/bin:/bin")
    env = make_env(tmp_path)
    result = env.run("service", "install", "--now")
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"weakties: error: no systemd user session found ({why})")
    assert "weakties daemon" in lines[1] and "long-lived terminal" in lines[1]
    assert lines[2].startswith("  */15 * * * * ") and lines[2].endswith(" check-lapses")
    assert f"--config {env.config} sync && " in lines[2]
    assert (tmp_path / "xdg" / "systemd" / "user" / "weakties.service").is_file()
    if path != "empty":  # asked whether a session answers, and started nothing
        assert (tmp_path / "systemctl.log").read_text() == "--user show-environment\n"


def test_install_now_with_a_user_systemd_starts_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("PATH", f"{fake_systemctl(tmp_path, 'exit 0')}:/usr/bin:/bin")
    result = make_env(tmp_path).run("service", "install", "--now")
    assert result.exit_code == 0, result.output
    assert "now runs in the background" in result.stdout
    assert (tmp_path / "systemctl.log").read_text().splitlines() == [
        "--user show-environment",
        "--user daemon-reload",
        "--user enable --now weakties.service",
    ]


def test_install_now_that_systemd_refuses_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    script = 'case "$2" in enable) echo "Unit is masked." >&2; exit 1;; esac'
    monkeypatch.setenv("PATH", f"{fake_systemctl(tmp_path, script)}:/usr/bin:/bin")
    result = make_env(tmp_path).run("service", "install", "--now")
    assert result.exit_code == 1
    assert result.stderr.startswith("weakties: error: could not start it (Unit is masked.)")


def test_service_status_without_systemd_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no systemctl here
    env = make_env(tmp_path)
    result = env.run("service", "status")
    assert result.exit_code == 3
    assert "daemon: unknown (systemctl not found)" in result.stdout


def test_daemon_speaks_sd_notify_and_logs_for_the_journal(tmp_path: Path) -> None:
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(WAIT)
    env = make_env(tmp_path, extra=notify_section(tmp_path / "told.jsonl"))
    daemon = Daemon(
        env,
        tmp_path,
        {
            "NOTIFY_SOCKET": str(sock_path),
            "WATCHDOG_USEC": "1000000",
            "INVOCATION_ID": "0123456789abcdef",
        },
    )
    try:
        got: list[str] = []
        while "WATCHDOG=1" not in got:
            got += sock.recv(4096).decode().splitlines()
        assert "READY=1" in got
        code, _ = daemon.stop(signal.SIGTERM)
        assert code == 0
        while "STOPPING=1" not in got:
            got += sock.recv(4096).decode().splitlines()
        assert got.index("READY=1") < got.index("STOPPING=1")
    finally:
        daemon.kill()
        sock.close()
    log = daemon.output().splitlines()
    assert log and all(line.startswith("<") for line in log)  # "<6>weakties.daemon: started..."
    assert "<6>weakties.daemon: started: polling no accounts every 1 second" in log
    assert not any(time.strftime("%Y-") in line for line in log)  # the journal adds the time


def test_python_m_syncd_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syncd", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert done.returncode == 0 and "check-lapses" in done.stdout
