"""Idle daemon benchmark: memory and CPU of ``weakties daemon`` when nothing new arrives.

Run: ``python -m bench.daemon_idle [--messages 5000] [--contacts 300] [--poll 2s] [--seconds 40]``

It starts the test suite's throwaway Dovecot on 127.0.0.1 with one account
holding a generated mailbox, tracks some contacts (a few overdue, so the
first check tells of them through the ``log`` backend), starts the daemon as
a subprocess with a fast poll interval, waits for its first sync, and then
watches it for ``--seconds`` while every poll finds nothing new:

* RSS (``VmRSS``, sampled every 0.5 s) and its peak (``VmHWM``);
* CPU time (utime + stime from ``/proc/PID/stat``) over the window, as a
  share of one core, per poll, and extrapolated to the default 15-minute
  interval.

And, in the same run, after the daemon has stopped, two baselines:

* the memory floor: the RSS of a bare Python process that imports weakties'
  CLI and sleeps (``python -c "import syncd.cli, time; time.sleep(N)"``,
  ``VmRSS`` sampled every 0.1 s), beside the daemon's RSS and their ratio;
* a cron-style poll: the CPU time (children's rusage) of one ``weakties sync
  --once`` subprocess against the same mailbox with nothing new (the median of
  five), beside the daemon's CPU per idle poll and their ratio (expected well
  below 1: the daemon pays Python's start-up and imports once). A cron job
  would also run ``check-lapses``; that is left out, so the ratio is on the
  daemon's unfavourable side.

weakties is byte-compiled first, as ``pip install`` does, so start-up is
measured as installed.

Targets (issue 4): under 80 MB RSS, well under 1% of a core on average.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from bench.imap_sync import compile_sources, run_measured
from syncd.durations import parse_duration
from tests.dovecot import start_dovecot

ME = "me@example.com"
ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


def message(n: int, user: str) -> tuple[bytes, datetime]:
    at = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=97 * n)
    peer = f"Person {n % 1000} <person{n % 1000}@example.org>"
    sender, to = (user, peer) if n % 4 == 0 else (peer, user)
    raw = (
        f"From: {sender}\r\nTo: {to}\r\nSubject: note {n}\r\nDate: {format_datetime(at)}\r\n"
        f"Message-ID: <b{n}@example.org>\r\n\r\nbody\r\n"
    ).encode()
    return raw, at


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def memory_kb(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def floor_rss_kb(seconds: float = 3.0) -> list[int]:
    """VmRSS samples of a bare Python process that has imported weakties' CLI."""
    code = f"import syncd.cli, time; print(flush=True); time.sleep({seconds + 30})"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # the imports are done
        samples, start = [], time.monotonic()
        while time.monotonic() - start < seconds:
            samples.append(memory_kb(proc.pid)["VmRSS"])
            time.sleep(0.1)
        return samples
    finally:
        proc.kill()
        proc.wait()


def cron_sync(cli: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """One ``sync --once`` subprocess; returns (CPU seconds from its rusage, wall, stdout)."""
    wall, usage, out = run_measured([*cli, "sync", "--once"], env, cwd=ROOT)
    return usage.ru_utime + usage.ru_stime, wall, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--contacts", type=int, default=300)
    parser.add_argument("--poll", default="2s")
    parser.add_argument("--seconds", type=float, default=40.0)
    args = parser.parse_args()
    poll = parse_duration(args.poll).total_seconds()
    compile_sources()

    with tempfile.TemporaryDirectory(prefix="weakties-bench-") as tmp, start_dovecot() as server:
        work = Path(tmp)
        user = server.new_user()
        server.bulk_append(
            user.username, "INBOX", (message(n, user.username) for n in range(args.messages))
        )
        account = {
            "name": "bench",
            "type": "imap",
            "host": server.host,
            "port": server.tls_port,
            "ca_file": str(server.ca_file),
            "username": user.username,
            "password_command": ["printf", "%s", user.password],
        }
        config = work / "config.toml"
        config.write_text(
            f'[defaults]\ncadence = "1y"\n[daemon]\npoll_interval = "{args.poll}"\n'
            '[notify]\nbackend = "log"\n[[account]]\n'
            + "".join(f"{k} = {json.dumps(v)}\n" for k, v in account.items())
        )
        env = {**os.environ, "WEAKTIES_DB": f"sqlite:///{work / 'weakties.db'}"}
        env.pop("INVOCATION_ID", None)
        env.pop("JOURNAL_STREAM", None)
        cli = [sys.executable, "-m", "syncd", "--config", str(config)]
        for i in range(args.contacts):
            subprocess.run(
                [*cli, "contact", "add", f"Person {i}", "--email", f"person{i}@example.org"],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
            )
        log = work / "daemon.log"
        with open(log, "wb") as err:
            daemon = subprocess.Popen(
                [*cli, "daemon"],
                cwd=ROOT,
                env=env,
                stderr=err,
                stdout=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
            )
        try:
            deadline = time.monotonic() + 300
            while "new interactions" not in log.read_text():
                if daemon.poll() is not None or time.monotonic() > deadline:
                    print(log.read_text(), file=sys.stderr)
                    return 1
                time.sleep(0.2)
            time.sleep(poll)  # let the first check finish
            start_cpu, start = cpu_seconds(daemon.pid), time.monotonic()
            rss = []
            while time.monotonic() - start < args.seconds:
                rss.append(memory_kb(daemon.pid)["VmRSS"])
                time.sleep(0.5)
            used, wall = cpu_seconds(daemon.pid) - start_cpu, time.monotonic() - start
            peak = memory_kb(daemon.pid)["VmHWM"]
        finally:
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=30)
        # the baselines, with the daemon stopped and nothing new in the mailbox
        floor = floor_rss_kb()
        crons = sorted(cron_sync(cli, env) for _ in range(5))
        cron_cpu, cron_wall, cron_out = crons[2]  # the median of five (by CPU)
        polls = wall / poll
        per_poll = used / polls
        default = 900.0
        # one 1 Hz loop tick is ~0 next to a poll; the extrapolation keeps the poll cost only
        print(
            f"mailbox: {args.messages} messages, {args.contacts} tracked contacts; "
            f"poll every {args.poll}, watched {wall:.0f} s (~{polls:.0f} idle polls)"
        )
        mean_rss, floor_rss = sum(rss) / len(rss), statistics.median(floor)
        print(
            f"RSS: mean {mean_rss / 1024:.1f} MB, max {max(rss) / 1024:.1f} MB, "
            f"peak (VmHWM, incl. first sync) {peak / 1024:.1f} MB   [target < 80 MB]"
        )
        print(
            f"  memory floor: python -c 'import syncd.cli' sleeping: "
            f"{floor_rss / 1024:.1f} MB; daemon mean / floor: {mean_rss / floor_rss:.2f}x "
            f"(+{(mean_rss - floor_rss) / 1024:.1f} MB)"
        )
        print(
            f"CPU: {used:.2f} s over {wall:.0f} s = {100 * used / wall:.2f}% of a core "
            f"at this poll rate; {1000 * per_poll:.0f} ms per idle poll + lapse check"
        )
        print(
            f"  cron-style poll: one 'weakties sync --once' with nothing new (median of 5): "
            f"{1000 * cron_cpu:.0f} ms CPU, {cron_wall:.2f} s wall  [{cron_out}]"
        )
        print(
            f"  daemon per idle poll / cron-style sync per poll: "
            f"{per_poll / cron_cpu:.2f}x  (expected well below 1)"
        )
        print(
            f"CPU at the default 15 min interval: ~{100 * per_poll / default:.4f}% of a core"
            f" (cron-style: ~{100 * cron_cpu / default:.4f}%)   [target well under 1%]"
        )
        print(f"exit status on SIGTERM: {code}")
        ok = max(rss) < 80 * 1024 and per_poll / default < 0.01 and code == 0
        print("all targets met" if ok else "TARGET MISSED")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
