"""Two ``weakties daemon`` processes, one PostgreSQL database, one Dovecot with two
accounts, fast polls: every account is polled by one daemon at a time (Dovecot's
login log: a user's IMAP sessions never overlap), each overdue contact is told
exactly once (a command notifier appending to one file), ``kill -9`` of the daemon
polling an account mid-sync hands it to the other within two poll intervals, and
the final ``status --json`` and interactions equal a single sync into SQLite."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from syncd.cli import main
from tests.dovecot import Dovecot
from tests.helpers import imap_account, make_env, message
from tests.postgres import Postgres

ROOT = Path(__file__).resolve().parent.parent
POLL = 4.0  # seconds: [daemon] poll_interval (a lease lives 1.5 of them)
WAIT = 90.0  # generous bound for anything to happen on a loaded machine
BULK = 3000  # messages in alpha's INBOX: a first sync of six batches, long enough to kill
# Appends the notifier's pid-less arguments as one JSON line to the file named first.
RECORDER = "import json, sys; open(sys.argv[1], 'a').write(json.dumps(sys.argv[2:]) + chr(10))"


def weakties(config: Path, url: str, *args: str) -> Any:
    result = CliRunner().invoke(
        main, ["--config", str(config), *args], env={"WEAKTIES_DB": url}, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result


def status(config: Path, url: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(weakties(config, url, "status", "--json").stdout)
    return rows


class Daemon:
    def __init__(self, config: Path, url: str, log: Path) -> None:
        self.log = log
        environ = {
            k: v
            for k, v in os.environ.items()
            if k not in ("JOURNAL_STREAM", "INVOCATION_ID", "NOTIFY_SOCKET")
        }
        environ.update({"WEAKTIES_DB": url, "PYTHONUNBUFFERED": "1"})
        with open(log, "wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "syncd", "--config", str(config), "daemon"],
                cwd=ROOT,
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

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


class LeaseWatch:
    """Samples the lease table every 50 ms: (monotonic time, {account: holder pid})."""

    def __init__(self, postgres: Postgres, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(
            host="127.0.0.1",
            port=postgres.port,
            user="harness",
            password=postgres.admin_password,
            dbname=url.rsplit("/", 1)[1],
            connect_timeout=10,
            autocommit=True,
        )
        self.samples: list[tuple[float, dict[str, int]]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(0.05):
            try:
                found = self.conn.execute(
                    "SELECT account, holder FROM account_leases WHERE expires_at > now()"
                ).fetchall()
            except Exception:  # the table does not exist until the first daemon migrates
                continue
            self.samples.append((time.monotonic(), {a: int(h.rsplit(":", 1)[1]) for a, h in found}))

    def holder(self, account: str) -> int | None:
        return self.samples[-1][1].get(account) if self.samples else None

    def interactions(self, account: str) -> int:
        try:
            [(n,)] = self.conn.execute(
                "SELECT count(*) FROM interactions WHERE account = %s", (account,)
            ).fetchall()
        except Exception:
            return 0
        return int(n)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.conn.close()


def wait_for(what: str, condition: Callable[[], Any], daemons: list[Daemon]) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    logs = "\n".join(d.output()[-3000:] for d in daemons)
    raise AssertionError(f"timed out waiting for {what}:\n{logs}")


def told_names(told: Path) -> list[str]:
    """Everyone told, one entry per telling (a digest names several: "Priya, Dan")."""
    if not told.exists():
        return []
    lines = [json.loads(x)[0] for x in told.read_text().splitlines()]
    return sorted(name for line in lines for name in line.split(", "))


def overlapping_sessions(dovecot_log: str, users: list[str]) -> list[str]:
    """Lines where a user logged in while a session of theirs was still open."""
    open_sessions: dict[str, set[str]] = {u: set() for u in users}
    problems = []
    for line in dovecot_log.splitlines():
        login = re.search(r"Login: user=<([^>]+)>.*session=<([^>]+)>", line)
        if login and login.group(1) in open_sessions:
            user, session = login.groups()
            if open_sessions[user]:
                problems.append(line)
            open_sessions[user].add(session)
            continue
        out = re.search(r"imap\(([^)]+)\)<\d+><([^>]+)>: (?:Info: )?Disconnected", line)
        if out and out.group(1) in open_sessions:
            open_sessions[out.group(1)].discard(out.group(2))
    return problems


def test_two_daemons_one_database_one_poller_one_alert_and_a_takeover(
    tmp_path: Path,
    dovecot: Dovecot,
    postgres: Postgres,
    postgres_url: str,
    daemons: list[Daemon],
) -> None:
    alpha, beta = dovecot.new_user(), dovecot.new_user()
    old = datetime.now(UTC) - timedelta(days=200)
    recent = datetime.now(UTC) - timedelta(days=2)
    dovecot.append(
        alpha.username, "Sent", message(alpha.username, "Priya <priya@example.org>", date=old), old
    )
    dovecot.append(
        beta.username,
        "Sent",
        message(beta.username, "Dan <dan@example.org>", date=old + timedelta(days=30)),
    )
    dovecot.append(beta.username, "INBOX", message("Carol <carol@example.org>", beta.username))
    dovecot.bulk_append(
        alpha.username,
        "INBOX",
        (
            (
                message(
                    f"p{i} <p{i}@example.net>",
                    alpha.username,
                    date=recent + timedelta(seconds=i),
                    message_id=f"<bulk{i}@x>",
                ),
                recent + timedelta(seconds=i),
            )
            for i in range(BULK)
        ),
    )
    told = tmp_path / "told.jsonl"
    command = [sys.executable, "-c", RECORDER, str(told), "{name}", "{kind}"]
    extra = (
        f'[daemon]\npoll_interval = "{int(POLL)}s"\nmax_backoff = "8s"\n'
        f'[notify]\nbackend = "command"\ncommand = {json.dumps(command)}\n'
        '[defaults]\ncadence = "90d"\n'
    )
    accounts = (imap_account(dovecot, alpha, "alpha"), imap_account(dovecot, beta, "beta"))
    env = make_env(tmp_path, *accounts, identity=(alpha.username, beta.username), extra=extra)
    for name in ("Priya", "Dan", "Carol"):
        weakties(
            env.config,
            postgres_url,
            "contact",
            "add",
            name,
            "--email",
            f"{name.lower()}@example.org",
        )
    log_start = len(dovecot.log_path.read_text(errors="replace"))

    watch = LeaseWatch(postgres, postgres_url)
    try:
        for n in (1, 2):
            daemons.append(Daemon(env.config, postgres_url, tmp_path / f"daemon{n}.log"))
        by_pid = {d.pid: d for d in daemons}

        # alpha's first sync is under way: kill its poller between two batches
        wait_for(
            "alpha's sync to be half done", lambda: watch.interactions("alpha") >= 500, daemons
        )
        victim = by_pid[watch.holder("alpha") or 0]
        survivor = next(d for d in daemons if d is not victim)
        shown = CliRunner().invoke(
            main,
            ["--config", str(env.config), "service", "status"],
            env={"WEAKTIES_DB": postgres_url},
        )
        [line] = [x for x in shown.stdout.splitlines() if x.startswith("alpha: ")]
        assert line.endswith(f"; polled by {socket.gethostname()} (pid {victim.pid})"), line
        assert watch.interactions("alpha") < BULK + 1, "the sync ended before the kill"
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait()
        killed = time.monotonic()
        wait_for(
            "the other daemon to take alpha", lambda: watch.holder("alpha") == survivor.pid, daemons
        )
        took = time.monotonic() - killed
        assert took <= 2 * POLL, f"takeover after {took:.1f}s"

        wait_for("alpha's sync to finish", lambda: watch.interactions("alpha") == BULK + 1, daemons)
        wait_for("both lapses told", lambda: len(told_names(told)) >= 2, daemons)
        time.sleep(3 * POLL)  # more polls and lapse checks: nothing is told again
        assert survivor.process.poll() is None, survivor.output()
        survivor.process.send_signal(signal.SIGTERM)
        assert survivor.process.wait(timeout=30) == 0, survivor.output()
    finally:
        watch.close()

    # each overdue contact told exactly once over the run, by either daemon
    assert told_names(told) == ["Dan", "Priya"]

    # every account had one poller at a time: Dovecot never saw two sessions of a user
    dovecot_log = dovecot.log_path.read_text(errors="replace")[log_start:]
    logins = [u for u in (alpha.username, beta.username) if f"user=<{u}>" in dovecot_log]
    assert logins == [alpha.username, beta.username]
    assert overlapping_sessions(dovecot_log, [alpha.username, beta.username]) == []
    # and at every sample each account had at most one holder, always a running daemon
    holders = {pid for _, sample in watch.samples for pid in sample.values()}
    assert holders <= set(by_pid)
    # alpha changed hands once (the takeover), never back and forth
    alpha_holders = [s["alpha"] for _, s in watch.samples if "alpha" in s]
    changes = [b for a, b in itertools.pairwise(alpha_holders) if a != b]
    assert changes == [survivor.pid]

    # the truth: the same accounts synced once into a fresh SQLite database
    truth = f"sqlite:///{tmp_path / 'truth.db'}"
    for name in ("Priya", "Dan", "Carol"):
        weakties(
            env.config, truth, "contact", "add", name, "--email", f"{name.lower()}@example.org"
        )
    weakties(env.config, truth, "sync", "--once")
    assert status(env.config, postgres_url) == status(env.config, truth)
    shared = json.loads(weakties(env.config, postgres_url, "db", "status", "--json").stdout)
    single = json.loads(weakties(env.config, truth, "db", "status", "--json").stdout)
    assert shared["rows"]["interactions"] == single["rows"]["interactions"] == BULK + 3
    # a stopped daemon gave its leases up; the killed one's expired
    assert shared["rows"]["account_leases"] in (0, 1)
