"""Shared database benchmark: PostgreSQL against SQLite, in the same run.

Run: ``python -m bench.postgres [--messages 50000] [--repeat 1]
[--interactions 1000000] [--contacts 1000] [--runs 5] [--skip-sync] [--skip-status]``

It starts the test suite's throwaway Dovecot and PostgreSQL on 127.0.0.1 and
measures, on the same machine at the same time:

* the first ``sync --once`` of a generated mailbox of ``--messages``
  (``bench.imap_sync``'s generator, warmed) into a fresh SQLite file and into a
  fresh PostgreSQL database, interleaved ``--repeat`` times; target: the
  PostgreSQL sync at most 1.3x the SQLite one;
* ``status`` (a whole process, median of ``--runs``) on ``--contacts`` tracked
  contacts with ``--interactions`` interactions (``bench.scale``'s builder,
  into SQLite, then ``weakties db copy`` into PostgreSQL, which is timed too),
  on both; target: under 200 ms each. Beside it, the start-up floor
  (``python -m syncd --help``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench.scale
from bench.imap_sync import baseline, compile_sources, generate, run_measured, write_config
from tests.dovecot import start_dovecot
from tests.postgres import Postgres, start_postgres

SYNC_TARGET = 1.3
STATUS_TARGET = 0.200


def sync_once(config: Path, url: str) -> tuple[float, str]:
    """``weakties sync --once`` into ``url`` as a subprocess: (seconds, its summary)."""
    env = {**os.environ, "WEAKTIES_DB": url}
    elapsed, _, out = run_measured(
        [sys.executable, "-m", "syncd", "--config", str(config), "sync", "--once"], env
    )
    return elapsed, out


def first_syncs(postgres: Postgres, tmp: Path, messages: int, repeat: int) -> bool:
    with start_dovecot() as server:
        user = server.new_user()
        started = time.perf_counter()
        server.bulk_append(user.username, "INBOX", generate(messages))
        print(f"loaded {messages:,} messages in {time.perf_counter() - started:.1f} s", flush=True)
        baseline(server, user.username)  # warm-up: Dovecot indexes the mailbox
        config = tmp / "config-sync.toml"
        write_config(config, server, user.username, user.password)
        ratios = []
        for n in range(repeat):
            lite_s, lite_out = sync_once(config, f"sqlite:///{tmp / f'sync-{n}.db'}")
            pg_s, pg_out = sync_once(config, postgres.new_database())
            if lite_out != pg_out:
                raise SystemExit(f"the two syncs differ: {lite_out!r} / {pg_out!r}")
            ratios.append(pg_s / lite_s)
            print(
                f"  run {n + 1}: SQLite {lite_s:.2f} s, PostgreSQL {pg_s:.2f} s,"
                f" ratio {pg_s / lite_s:.2f}x  [{pg_out}]",
                flush=True,
            )
    ratio = statistics.median(ratios)
    print(
        f"first sync of {messages:,} messages, PostgreSQL / SQLite (median of {repeat}):"
        f" {ratio:.2f}x  (target <= {SYNC_TARGET}x)"
    )
    return ratio <= SYNC_TARGET


def timed(argv: list[str], url: str, runs: int) -> float:
    """Median wall time of a command (it must succeed)."""
    env = {**os.environ, "WEAKTIES_DB": url}
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv[4:])} failed ({done.returncode}): {done.stderr}")
    return statistics.median(times)


def status_on_both(
    postgres: Postgres, tmp: Path, contacts: int, interactions: int, runs: int
) -> bool:
    bench.scale.CONTACTS = contacts
    db = tmp / "scale.db"
    started = time.perf_counter()
    bench.scale.build(db, interactions)
    print(
        f"built {contacts:,} contacts, {interactions:,} interactions in SQLite"
        f" in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    config = tmp / "config-status.toml"
    config.write_text('[identity]\naddresses = ["me@example.com"]\n[notify]\nbackend = "log"\n')
    cli = [sys.executable, "-m", "syncd", "--config", str(config)]
    lite, pg = f"sqlite:///{db}", postgres.new_database()
    started = time.perf_counter()
    copy = subprocess.run(
        [*cli, "db", "copy", "--to", pg],
        env={**os.environ, "WEAKTIES_DB": lite},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    if copy.returncode != 0:
        raise SystemExit(f"db copy failed: {copy.stdout}")
    print(f"db copy into PostgreSQL: {time.perf_counter() - started:.1f} s", flush=True)
    import psycopg  # what autovacuum would do soon after a bulk load

    with psycopg.connect(pg.replace("+psycopg", ""), autocommit=True, connect_timeout=15) as conn:
        conn.execute("ANALYZE")
    floor = timed([*cli, "--help"], lite, runs)
    ok = True
    print(f"start-up floor (--help): {floor * 1000:.0f} ms")
    for label, url in (("SQLite", lite), ("PostgreSQL", pg)):
        for args in (["status"], ["status", "--json"]):
            took = timed([*cli, *args], url, runs)
            ok = ok and took < STATUS_TARGET
            print(
                f"{' '.join(args):<14} on {label:<10} ({contacts:,} contacts,"
                f" {interactions:,} interactions): {took * 1000:.0f} ms"
                f"  (target < {STATUS_TARGET * 1000:.0f} ms)"
            )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=1, help="SQLite/PostgreSQL sync pairs")
    parser.add_argument("--contacts", type=int, default=1_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="status runs (the median)")
    parser.add_argument("--skip-sync", action="store_true")
    parser.add_argument("--skip-status", action="store_true")
    args = parser.parse_args()
    compile_sources()
    ok = True
    with tempfile.TemporaryDirectory() as tmp, start_postgres() as postgres:
        if not args.skip_sync:
            ok = first_syncs(postgres, Path(tmp), args.messages, args.repeat) and ok
        if not args.skip_status:
            both = status_on_both(postgres, Path(tmp), args.contacts, args.interactions, args.runs)
            ok = both and ok
    print("all targets met" if ok else "TARGET MISSED")


if __name__ == "__main__":
    main()
