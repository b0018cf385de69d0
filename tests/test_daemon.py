"""``weakties daemon`` as a subprocess against the test Dovecot: it syncs, tells of the
overdue contact through the command backend, picks up new mail while it runs, keeps
going while another account fails, and stops cleanly and promptly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.dovecot import Dovecot, ImapUser
from tests.helpers import Env, imap_account, make_env, message

ROOT = Path(__file__).resolve().parent.parent
WAIT = 60.0  # generous bound for anything to happen on a loaded machine
STOP_WITHIN = 5.0  # the requirement for SIGTERM

# Appends its arguments as one JSON line to the file named first.
RECORDER = "import json, sys; open(sys.argv[1], 'a').write(json.dumps(sys.argv[2:]) + chr(10))"


def notify_section(told: Path, extra: str = "") -> str:
    command = [
        sys.executable,
        "-c",
        RECORDER,
        str(told),
        "{name}",
        "{email}",
        "{days}",
        "{direction}",
        "{kind}",
    ]
    return (
        f'[daemon]\npoll_interval = "1s"\nmax_backoff = "2s"\n'
        f'[notify]\nbackend = "command"\ncommand = {json.dumps(command)}\n{extra}'
    )


class Daemon:
    """The daemon subprocess, its stderr in a file."""

    def __init__(self, env: Env, tmp_path: Path, extra_env: dict[str, str] | None = None) -> None:
        self.log = tmp_path / "daemon.log"
        environ = {
            k: v
            for k, v in os.environ.items()
            if k
            not in ("JOURNAL_STREAM", "INVOCATION_ID", "NOTIFY_SOCKET", "DBUS_SESSION_BUS_ADDRESS")
        }
        environ.update(
            {"WEAKTIES_DB": f"sqlite:///{env.db}", "PYTHONUNBUFFERED": "1", **(extra_env or {})}
        )
        with open(self.log, "wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "syncd", "--config", str(env.config), "daemon"],
                cwd=ROOT,
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, what: str, condition: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if result := condition():
                return result
            if self.process.poll() is not None:
                raise AssertionError(
                    f"daemon exited ({self.process.returncode}) before {what}:\n" + self.output()
                )
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}:\n{self.output()}")

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, float]:
        started = time.monotonic()
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.kill()


def lines(path: Path) -> list[list[str]]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def received(env: Env, name: str) -> str | None:
    [row] = [r for r in env.json("status") if r["name"] == name]
    return row["last_received"]


def db_is_consistent(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_daemon_syncs_tells_picks_up_new_mail_and_stops_on_sigterm(
    tmp_path: Path, dovecot: Dovecot, imap_user: ImapUser, daemons: list[Daemon]
) -> None:
    me, u = imap_user.username, imap_user.username
    old = datetime.now(UTC) - timedelta(days=200)
    dovecot.append(
        u, "Sent", message(me, "Priya <priya@example.org>", date=old, message_id="<p1@x>"), old
    )
    dovecot.append(
        u,
        "INBOX",
        message("Carol <carol@example.org>", me, date=datetime.now(UTC), message_id="<c1@x>"),
    )
    told = tmp_path / "told.jsonl"
    env = make_env(
        tmp_path,
        imap_account(dovecot, imap_user, "good"),
        extra=notify_section(told) + '[defaults]\ncadence = "90d"\n',
    )
    for name, email in (
        ("Priya", "priya@example.org"),
        ("Carol", "carol@example.org"),
        ("Dan", "dan@example.org"),
    ):
        assert env.run("contact", "add", name, "--email", email).exit_code == 0

    daemon = Daemon(env, tmp_path)
    daemons.append(daemon)
    # the first poll stores the mail; the check after it tells of Priya (only)
    daemon.wait_for("the overdue contact to be told", lambda: lines(told))
    assert lines(told) == [["Priya", "priya@example.org", "200", "sent", "lapse"]]
    assert received(env, "Carol") is not None

    # new mail while it runs is picked up at the next poll
    dovecot.append(
        u,
        "INBOX",
        message("Dan <dan@example.org>", me, date=datetime.now(UTC), message_id="<d1@x>"),
    )
    daemon.wait_for("the new message to be stored", lambda: received(env, "Dan"))
    assert lines(told) == [["Priya", "priya@example.org", "200", "sent", "lapse"]]  # once

    code, took = daemon.stop()
    assert code == 0, daemon.output()
    assert took < STOP_WITHIN
    assert "stopped" in daemon.output()
    db_is_consistent(env.db)
    again = env.run("sync", "--once")  # everything was stored with its state: nothing new
    assert again.exit_code == 0 and "0 new interactions" in again.stdout


def test_a_failing_account_backs_off_while_the_other_keeps_syncing(
    tmp_path: Path, dovecot: Dovecot, daemons: list[Daemon]
) -> None:
    good, bad = dovecot.new_user(), dovecot.new_user()
    env = make_env(
        tmp_path,
        imap_account(dovecot, good, "good"),
        imap_account(dovecot, bad, "bad", password="wrong password"),
        extra=notify_section(tmp_path / "told.jsonl"),
    )
    assert env.run("contact", "add", "Erin", "--email", "erin@example.org").exit_code == 0
    assert env.run("contact", "add", "Finn", "--email", "finn@example.org").exit_code == 0
    daemon = Daemon(env, tmp_path)
    daemons.append(daemon)
    daemon.wait_for("the bad account to fail twice", lambda: "failed 2 time(s)" in daemon.output())
    for name in ("Erin", "Finn"):  # mail arriving after the failures still comes in
        dovecot.append(
            good.username,
            "INBOX",
            message(
                f"{name} <{name.lower()}@example.org>",
                good.username,
                date=datetime.now(UTC),
                message_id=f"<{name}@x>",
            ),
        )
        daemon.wait_for(f"{name}'s mail", lambda n=name: received(env, n))
    daemon.wait_for(
        "the bad account to keep failing", lambda: "failed 3 time(s)" in daemon.output()
    )
    out = daemon.output()
    assert "bad: " in out and "wrong password" not in out  # never a secret in the log
    code, took = daemon.stop(signal.SIGINT)
    assert code == 0 and took < STOP_WITHIN


def test_sigterm_during_a_long_sync_leaves_only_whole_batches(
    tmp_path: Path, dovecot: Dovecot, imap_user: ImapUser, daemons: list[Daemon]
) -> None:
    u = imap_user.username
    start = datetime.now(UTC) - timedelta(days=30)
    count = 2500  # five batches of 500
    dovecot.bulk_append(
        u,
        "INBOX",
        (
            (
                message(
                    f"p{i} <p{i}@example.org>",
                    u,
                    date=start + timedelta(minutes=i),
                    message_id=f"<m{i}@x>",
                ),
                start + timedelta(minutes=i),
            )
            for i in range(count)
        ),
    )
    env = make_env(
        tmp_path,
        imap_account(dovecot, imap_user, "good"),
        extra=notify_section(tmp_path / "told.jsonl"),
    )

    def stored() -> int:
        if not env.db.exists():
            return 0
        with sqlite3.connect(env.db) as conn:
            try:
                return conn.execute("SELECT count(*) FROM interactions").fetchone()[0]
            except sqlite3.OperationalError:
                return 0

    daemon = Daemon(env, tmp_path)
    daemons.append(daemon)
    daemon.wait_for("a first batch", stored)
    code, took = daemon.stop()
    assert code == 0 and took < STOP_WITHIN, daemon.output()
    db_is_consistent(env.db)
    with sqlite3.connect(env.db) as conn:
        [(state,)] = conn.execute("SELECT state FROM sync_state WHERE scope = 'INBOX'")
        last_uid = json.loads(state)["last_uid"]
        assert stored() == last_uid  # the saved cursor matches exactly what was stored
    resumed = env.run("sync", "--once")
    assert resumed.exit_code == 0, resumed.output
    assert stored() == count


def test_no_accounts_still_checks_lapses_and_stops(tmp_path: Path, daemons: list[Daemon]) -> None:
    told = tmp_path / "told.jsonl"
    env = make_env(tmp_path, extra=notify_section(told) + '[defaults]\ncadence = "1d"\n')
    assert env.run("contact", "add", "Gail", "--email", "gail@example.org").exit_code == 0
    with sqlite3.connect(env.db) as db:  # added two days ago: overdue, never contacted
        db.execute("UPDATE contacts SET created_at = datetime('now', '-2 days')")
    daemon = Daemon(env, tmp_path)
    daemons.append(daemon)
    daemon.wait_for("the never-contacted contact to be told", lambda: lines(told))
    assert lines(told)[0][:2] == ["Gail", "gail@example.org"]
    assert lines(told)[0][3] == "none"
    code, took = daemon.stop()
    assert code == 0 and took < STOP_WITHIN
