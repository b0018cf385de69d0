"""Read commands on a decade of mail: 1,000 contacts and 1,000,000 interactions.

``python -m bench.scale [--interactions N ...]`` builds, for each size (default
100,000 and 1,000,000), a SQLite database through the product's own schema
(migrated by weakties itself, then filled in bulk with the stdlib ``sqlite3``
module): 1,000 tracked contacts with one to three addresses each, 4,000
untracked correspondents, ten years of sent and received mail, touches and
snoozes. Then it times each read command as a whole process (median of
``--runs``), and beside them, in the same run:

* the start-up floor: ``python -m syncd --help``;
* the raw query: one indexed SQL statement giving every tracked address's
  last sent and last received time (``sqlite3``, in-process).

The target (issue 12) is each command at most 1.3x (floor + raw query), and
``suggest --json`` under 1 s; the table prints the ratio for each.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.imap_sync import compile_sources
from syncd.store import open_store

CONTACTS = 1_000
UNTRACKED = 4_000
YEARS = 10
RAW_QUERY = (
    "SELECT e.address, i.direction, MAX(i.at) FROM contact_emails e "
    "JOIN interactions i ON i.address = e.address GROUP BY e.address, i.direction"
)


def _stamp(at: datetime) -> str:
    """The way the schema's UTC column stores a time (naive UTC, ISO with a space)."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def build(db: Path, interactions: int, seed: int = 7) -> None:
    """A migrated database filled with ``interactions`` rows of realistic shape."""
    open_store(f"sqlite:///{db}").close()  # weakties creates and migrates it
    rng = random.Random(seed)
    now = datetime.now(UTC)
    start = now - timedelta(days=365 * YEARS)
    span = (now - start).total_seconds()
    conn = sqlite3.connect(db)
    with conn:
        contacts, emails, tags, touches = [], [], [], []
        tracked: list[str] = []
        for n in range(CONTACTS):
            snoozed = _stamp(now + timedelta(days=30)) if n % 50 == 0 else None
            cadence = rng.choice([None, 30, 90, 180, 365])
            contacts.append(
                (n + 1, f"Contact {n:04d}", cadence and cadence * 86400, snoozed, _stamp(start))
            )
            for k in range(1 + n % 3):
                address = f"person{n}.{k}@example{n % 40}.org"
                tracked.append(address)
                emails.append((n + 1, address, address))
            if n % 4 == 0:
                tags.append((n + 1, rng.choice(["mentors", "family", "work"])))
            if n % 10 == 0:
                touches.append(
                    (n + 1, _stamp(start + timedelta(seconds=rng.random() * span)), "coffee")
                )
        conn.executemany(
            "INSERT INTO contacts (id, name, cadence_seconds, snoozed_until, "
            "created_at) VALUES (?, ?, ?, ?, ?)",
            contacts,
        )
        conn.executemany(
            "INSERT INTO contact_emails (contact_id, address, display) VALUES (?, ?, ?)", emails
        )
        conn.executemany("INSERT INTO contact_tags (contact_id, tag) VALUES (?, ?)", tags)
        conn.executemany("INSERT INTO touches (contact_id, at, note) VALUES (?, ?, ?)", touches)
        everyone = tracked + [f"someone{n}@elsewhere{n % 97}.net" for n in range(UNTRACKED)]

        def rows() -> object:
            for n in range(interactions):
                address = rng.choice(everyone)
                at = start + timedelta(seconds=rng.random() * span)
                direction = "sent" if rng.random() < 0.45 else "received"
                yield (
                    address,
                    "",
                    direction,
                    _stamp(at),
                    "mail",
                    "Sent" if direction == "sent" else "INBOX",
                    f"<{n}@bench>",
                    f"subject {n % 1000}",
                    f"mid:<{n}@bench>",
                )

        conn.executemany(
            "INSERT INTO interactions (address, name, direction, at, account, "
            "folder, message_id, subject, dedupe_key) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows(),
        )  # type: ignore[arg-type]
    conn.execute("ANALYZE")
    conn.close()
    store = open_store(f"sqlite:///{db}")
    store.rebuild_summary()  # the per-address summary the bulk load bypassed
    store.close()


def timed(argv: list[str], env: dict[str, str], runs: int) -> float:
    """Median wall time of a command run ``runs`` times (it must succeed)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            argv,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        times.append(time.perf_counter() - started)
        # check-lapses exits 1 when a backend could not deliver: the log backend always can
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv[3:])} failed ({done.returncode}): {done.stderr}")
    return statistics.median(times)


def raw_query(db: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        conn = sqlite3.connect(db)
        conn.execute(RAW_QUERY).fetchall()
        conn.close()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def prepare(db: Path, size: int, cache: Path | None) -> None:
    """Build the database at ``db``; with ``cache``, build it there once and copy it.

    A cached file keeps the schema it was built with: weakties migrates the
    copy (outside the timings), so one cache serves before and after a
    schema change.
    """
    started = time.perf_counter()
    if cache is None:
        build(db, size)
    else:
        cached = cache / f"scale-{size}.db"
        if not cached.exists():
            cache.mkdir(parents=True, exist_ok=True)
            build(cached.with_suffix(".tmp"), size)
            cached.with_suffix(".tmp").rename(cached)
        shutil.copyfile(cached, db)
    open_store(f"sqlite:///{db}").close()  # migrate now, not inside the first timing
    print(f"prepared {size:,} interactions in {time.perf_counter() - started:.1f} s", flush=True)


def measure(
    size: int, runs: int, workdir: Path, cache: Path | None = None
) -> list[tuple[str, float, float]]:
    db = workdir / f"scale-{size}.db"
    prepare(db, size, cache)
    config = workdir / "config.toml"
    config.write_text('[identity]\naddresses = ["me@example.com"]\n[notify]\nbackend = "log"\n')
    env = {**os.environ, "WEAKTIES_DB": f"sqlite:///{db}"}
    cli = [sys.executable, "-m", "syncd", "--config", str(config)]
    floor = timed([*cli, "--help"], env, runs)
    query = raw_query(db, runs)
    budget = floor + query
    results = [("start-up floor (--help)", floor, budget), ("raw indexed query", query, budget)]
    for label, args in (
        ("status", ["status"]),
        ("status --json", ["status", "--json"]),
        ("contact show", ["contact", "show", "Contact 0001"]),
        ("check-lapses --dry-run", ["check-lapses", "--dry-run"]),
        ("suggest --json --limit 20", ["suggest", "--json", "--limit", "20"]),
    ):
        results.append((label, timed([*cli, *args], env, runs), budget))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--interactions",
        type=int,
        action="append",
        help="database size (repeatable; default 100,000 and 1,000,000)",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per command (median)")
    parser.add_argument(
        "--cache",
        type=Path,
        help="keep the built databases in this directory and reuse them (they take minutes)",
    )
    options = parser.parse_args()
    compile_sources()
    with tempfile.TemporaryDirectory(prefix="weakties-scale-") as tmp:
        for size in options.interactions or [100_000, 1_000_000]:
            results = measure(size, options.runs, Path(tmp), options.cache)
            print(f"\n{size:,} interactions, {CONTACTS:,} contacts (median of {options.runs})")
            print(f"{'command':28} {'seconds':>8} {'x (floor + query)':>18}")
            for label, seconds, budget in results:
                print(f"{label:28} {seconds:8.3f} {seconds / budget:17.2f}x")
    print("\ntargets: each read command <= 1.3x (floor + query); suggest --json < 1 s")


if __name__ == "__main__":
    main()
