"""IMAP sync benchmark: weakties' first and no-change sync against a bare imapclient pass.

Run: ``python -m bench.imap_sync [--messages 50000] [--repeat 3] [--large]``

It starts the test suite's throwaway Dovecot on 127.0.0.1, loads a generated
mailbox, and measures in the same run:

* baseline: a bare imapclient pass fetching the same header fields for every
  message (in the same batch size) and parsing them with the stdlib parser;
* the raw floor under both: the same UID FETCH ranges over plain imaplib, the
  header blocks through the stdlib parser (no imapclient response parser);
* weakties' first ``sync --once`` (a subprocess, as a user runs it), its ratio
  to the baseline, and its peak memory (max RSS of that process);
* a second ``sync --once`` with nothing new (the median of five runs), beside
  the floor under it: starting Python and importing weakties' CLI, doing nothing.

``--repeat N`` measures the baseline / first-sync pair N times (a fresh
database each time, interleaved so both see the same machine load) and reports
the min and median ratio, of wall time and of client CPU time (the client
process alone). ``--large`` adds a 200,000-message mailbox: its first sync's
ratio and peak memory beside the 50,000 one's, measured in the same run
(target: within 10%).

Targets (issues 2 and 12): first sync <= 1.15x baseline, peak memory < 200 MB
(200k within 10% of 50k), no-change sync < 0.5 s. The mailbox is warmed
(Dovecot builds its index) before timing.
"""

from __future__ import annotations

import argparse
import compileall
import email.parser
import email.policy
import imaplib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from imapclient import IMAPClient

from connectors.base import HEADER_FIELDS
from connectors.imap import BATCH_SIZE
from tests.dovecot import Dovecot, start_dovecot

ME = "me@example.com"


def generate(count: int) -> Iterator[tuple[bytes, datetime]]:
    """A plausible mailbox: 2,000 correspondents, a fifth sent by me, some newsletters."""
    start = datetime(2020, 1, 1, tzinfo=UTC)
    for n in range(count):
        at = start + timedelta(minutes=47 * n)
        peer = f"Person {n % 2000} <person{n % 2000}@example.org>"
        sender, to = (ME, peer) if n % 5 == 0 else (peer, ME)
        extra = "List-Id: <news.example.org>\r\n" if n % 17 == 0 else ""
        raw = (
            f"From: {sender}\r\nTo: {to}\r\nSubject: message number {n}\r\n"
            f"Date: {format_datetime(at)}\r\nMessage-ID: <{n}@bench.example>\r\n{extra}"
            "Content-Type: text/plain\r\n\r\n" + "body line\r\n" * 20
        )
        yield raw.encode(), at


def baseline(server: Dovecot, user: str) -> tuple[float, int, float]:
    """A bare imapclient pass over every message's header fields; (seconds, n, CPU seconds)."""
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    item = "BODY.PEEK[HEADER.FIELDS ({})]".format(" ".join(HEADER_FIELDS).upper())
    started, cpu = time.perf_counter(), time.process_time()
    client = IMAPClient(server.host, port=server.tls_port, ssl_context=server.ssl_context())
    client.login(user, server.password(user))
    last = int(client.select_folder("INBOX", readonly=True)[b"UIDNEXT"]) - 1
    parsed = 0
    for low in range(1, last + 1, BATCH_SIZE):
        response = client.fetch(
            list(range(low, min(low + BATCH_SIZE, last + 1))), [item, "INTERNALDATE"]
        )
        for data in response.values():
            headers = next(v for k, v in data.items() if k.startswith(b"BODY["))
            message = parser.parsebytes(headers)
            parsed += bool(message.get("From"))
    client.logout()
    return time.perf_counter() - started, parsed, time.process_time() - cpu


def raw_floor(server: Dovecot, user: str) -> float:
    """The protocol floor: the same UID FETCH ranges over plain imaplib (no imapclient
    response parser), each header block through the stdlib parser and each INTERNALDATE
    through imaplib's; returns seconds."""
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    items = "(BODY.PEEK[HEADER.FIELDS ({})] INTERNALDATE)".format(" ".join(HEADER_FIELDS).upper())
    started = time.perf_counter()
    imap = imaplib.IMAP4_SSL(
        server.host, server.tls_port, ssl_context=server.ssl_context(), timeout=60
    )
    imap.login(user, server.password(user))
    _, data = imap.select("INBOX", readonly=True)
    last = int(data[0] or 0)  # EXISTS: UIDs are 1..n in this generated mailbox
    for low in range(1, last + 1, BATCH_SIZE):
        _, data = imap.uid("FETCH", f"{low}:{min(low + BATCH_SIZE - 1, last)}", items)
        for entry in data:
            if isinstance(entry, tuple):
                imaplib.Internaldate2tuple(entry[0])
                parser.parsebytes(entry[1]).get("From")
    imap.logout()
    return time.perf_counter() - started


def run_measured(
    argv: list[str], env: dict[str, str], cwd: Path | None = None
) -> tuple[float, resource.struct_rusage, str]:
    """Run a command to its end: (wall seconds, its own rusage, stdout). Exits on failure."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
    )
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[-2:])} failed ({proc.returncode}): {out}")
    return elapsed, usage, out.strip()


def run_weakties(config: Path, db: Path) -> tuple[float, float, str, float]:
    """``weakties sync --once`` as a subprocess: (seconds, peak RSS in MB, stdout, CPU s)."""
    env = {**os.environ, "WEAKTIES_DB": f"sqlite:///{db}"}
    elapsed, usage, out = run_measured(
        [sys.executable, "-m", "syncd", "--config", str(config), "sync", "--once"], env
    )
    return elapsed, usage.ru_maxrss / 1024, out, usage.ru_utime + usage.ru_stime


def compile_sources() -> None:
    """Byte-compile weakties as ``pip install`` does, so start-up is timed as installed
    (this machine sets PYTHONDONTWRITEBYTECODE, which would recompile every run)."""
    root = Path(__file__).resolve().parent.parent
    for package in ("syncd", "connectors"):
        compileall.compile_dir(root / package, quiet=1)


def import_floor() -> float:
    """Wall time of starting Python and importing weakties' CLI, doing nothing (median of 5)."""
    times = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import syncd.cli"], check=True)
        times.append(time.perf_counter() - started)
    return sorted(times)[2]


def write_config(path: Path, server: Dovecot, username: str, password: str) -> None:
    account = {
        "name": "bench",
        "type": "imap",
        "host": server.host,
        "port": server.tls_port,
        "ca_file": str(server.ca_file),
        "username": username,
        "password_command": ["printf", "%s", password],
    }
    path.write_text(
        f'[identity]\naddresses = ["{ME}"]\n[[account]]\n'
        + "".join(f"{k} = {json.dumps(v)}\n" for k, v in account.items())
    )


@dataclass
class FirstSync:
    """Each repeat's baseline and first sync of one mailbox."""

    messages: int
    base_s: list[float] = field(default_factory=list)
    first_s: list[float] = field(default_factory=list)
    raw_s: list[float] = field(default_factory=list)
    base_cpu: list[float] = field(default_factory=list)
    first_cpu: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)
    summary: str = ""

    @property
    def ratios(self) -> list[float]:
        return sorted(f / b for f, b in zip(self.first_s, self.base_s, strict=True))

    @property
    def cpu_ratios(self) -> list[float]:
        return sorted(f / b for f, b in zip(self.first_cpu, self.base_cpu, strict=True))

    def report(self) -> str:
        r, mid = self.ratios, len(self.ratios) // 2
        c = self.cpu_ratios
        w = sorted(f / b for f, b in zip(self.first_s, self.raw_s, strict=True))
        runs = ", ".join(
            f"{f:.2f}/{b:.2f} s" for f, b in zip(self.first_s, self.base_s, strict=True)
        )
        return (
            f"{self.messages:,} messages: ratio first sync / baseline min {r[0]:.2f}x,"
            f" median {r[mid]:.2f}x  (runs weakties/baseline: {runs});"
            f" client CPU ratio min {c[0]:.2f}x, median {c[mid]:.2f}x;"
            f" ratio to the raw imaplib floor min {w[0]:.2f}x, median {w[mid]:.2f}x;"
            f" peak RSS max {max(self.peak_mb):.0f} MB  [{self.summary}]"
        )


def first_syncs(server: Dovecot, tmp: Path, messages: int, repeat: int) -> tuple[FirstSync, Path]:
    """Load a mailbox of ``messages`` and measure baseline + first sync ``repeat`` times."""
    user = server.new_user()
    t0 = time.perf_counter()
    server.bulk_append(user.username, "INBOX", generate(messages))
    print(f"loaded {messages} messages in {time.perf_counter() - t0:.1f} s", flush=True)
    baseline(server, user.username)  # warm-up: Dovecot indexes the mailbox
    config = tmp / f"config-{messages}.toml"
    write_config(config, server, user.username, user.password)
    result = FirstSync(messages)
    for n in range(repeat):
        db = tmp / f"weakties-{messages}-{n}.db"
        base_s, _, base_cpu = baseline(server, user.username)
        first_s, peak_mb, result.summary, first_cpu = run_weakties(config, db)
        raw_s = raw_floor(server, user.username)
        result.raw_s.append(raw_s)
        result.base_s.append(base_s)
        result.base_cpu.append(base_cpu)
        result.first_cpu.append(first_cpu)
        result.first_s.append(first_s)
        result.peak_mb.append(peak_mb)
        print(
            f"  run {n + 1}: baseline {base_s:.2f} s, weakties {first_s:.2f} s,"
            f" ratio {first_s / base_s:.2f}x, peak {peak_mb:.0f} MB; raw imaplib floor"
            f" {raw_s:.2f} s ({first_s / raw_s:.2f}x); client CPU"
            f" {base_cpu:.2f} / {first_cpu:.2f} s = {first_cpu / base_cpu:.2f}x",
            flush=True,
        )
    return result, db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=1, help="baseline/first-sync pairs")
    parser.add_argument(
        "--large",
        action="store_true",
        help="also a 200,000-message mailbox (ratio and peak memory)",
    )
    args = parser.parse_args()
    compile_sources()

    with tempfile.TemporaryDirectory() as tmp, start_dovecot() as server:
        small, db = first_syncs(server, Path(tmp), args.messages, args.repeat)
        config = Path(tmp) / f"config-{args.messages}.toml"
        runs = [run_weakties(config, db) for _ in range(5)]
        again_s, _, again, _ = sorted(runs)[2]  # the median of five: start-up time is noisy
        floor_s = import_floor()
        large = first_syncs(server, Path(tmp), 200_000, args.repeat)[0] if args.large else None

    ratio = small.ratios[len(small.ratios) // 2]
    peak_mb = max(small.peak_mb)
    print("baseline: bare imapclient fetch + parse; weakties: first sync --once (subprocess)")
    print(small.report())
    print(f"ratio first sync / baseline (median): {ratio:.2f}x  (target <= 1.15x)")
    print(f"weakties peak memory (max RSS): {peak_mb:.0f} MB  (target < 200 MB)")
    ok = ratio <= 1.15 and peak_mb < 200 and again_s < 0.5
    if large:
        growth = max(large.peak_mb) / peak_mb
        print(large.report())
        print(f"peak memory 200,000 / {args.messages:,}: {growth:.2f}x  (target <= 1.10x)")
        ok = ok and growth <= 1.10
    print(
        f"weakties no-change sync --once (median of 5): {again_s:.2f} s  (target < 0.5 s)"
        f"  [{again}]"
    )
    print(
        f"  of which Python start-up + imports (python -c 'import syncd.cli'): {floor_s:.2f} s;"
        f" the sync itself: {again_s - floor_s:.2f} s"
    )
    print("all targets met" if ok else "TARGET MISSED")


if __name__ == "__main__":
    main()
