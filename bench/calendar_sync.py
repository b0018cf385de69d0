"""Calendar sync benchmark: weakties' first and no-change CalDAV sync against a bare pass.

Run: ``python -m bench.calendar_sync [--events 20000] [--repeat 1]``

It starts the test suite's throwaway Radicale (TLS, a password) on 127.0.0.1,
fills one calendar with a busy five-year calendar (``--events``, a fifth of
them recurring: weekly, fortnightly or monthly series with an end, a few
without), and measures in the same run:

* baseline: a bare pass with ``caldav`` + ``icalendar`` +
  ``recurring-ical-events`` over the same calendar, making the same requests
  weakties makes (one sync-collection REPORT for the hrefs, then
  calendar-multiget REPORTs of the same chunk size), each resource parsed
  with icalendar and expanded from 1900 to a year ahead, the attendees of
  every occurrence read;
* weakties' first ``sync --once`` (a subprocess, as a user runs it), its ratio
  to the baseline, and its peak memory (max RSS of that process);
* a second ``sync --once`` with nothing changed: the HTTP requests Radicale
  answered for it (its log), per calendar.

Targets (issue 9): first sync <= 1.5x baseline, peak memory < 200 MB, a
no-change sync one request per calendar. The resources are written into
Radicale's storage folder directly (20,000 PUTs would take longer than the
benchmark) and Radicale is warmed (its item cache built) before timing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import recurring_ical_events
from caldav.davclient import DAVClient

from bench.imap_sync import compile_sources, import_floor, run_measured
from connectors.caldav import _LISTING, CHUNK
from tests.caldav_servers import DavServer, DavUser, start_radicale

ME = "me@example.com"
PEOPLE = 600
EPOCH = datetime(1900, 1, 1, tzinfo=UTC)


def _z(at: datetime) -> str:
    return at.strftime("%Y%m%dT%H%M%SZ")


def generate(count: int, now: datetime, seed: int = 9) -> list[tuple[str, bytes]]:
    """``count`` resources over the five years before ``now`` (a fifth recurring)."""
    rng = random.Random(seed)
    start = now - timedelta(days=5 * 365)
    span = int((now - start).total_seconds() // 1800)
    found = []
    for n in range(count):
        at = start + timedelta(minutes=30 * rng.randrange(span))
        length = timedelta(minutes=rng.choice((30, 30, 60, 60, 90)))
        people = rng.sample(range(PEOPLE), rng.choice((1, 1, 2, 3, 4, 6, 12)))
        if n % 3 == 0:  # someone else organizes, I attend
            organizer = f"ORGANIZER;CN=Person {people[0]}:mailto:p{people[0]}@example.org"
            attendees = [f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{ME}"]
            attendees += [f"ATTENDEE;CN=Person {p}:mailto:p{p}@example.org" for p in people[1:]]
        else:
            organizer = f"ORGANIZER:mailto:{ME}"
            attendees = [f"ATTENDEE;CN=Person {p}:mailto:p{p}@example.org" for p in people]
        extra = []
        if n % 5 == 0:  # a fifth recurring
            kind = rng.random()
            if kind < 0.05:
                extra.append("RRULE:FREQ=WEEKLY")  # no end: expanded up to the horizon
            elif kind < 0.55:
                extra.append(f"RRULE:FREQ=WEEKLY;COUNT={rng.randrange(4, 40)}")
            elif kind < 0.8:
                extra.append(f"RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT={rng.randrange(4, 30)}")
            else:
                extra.append(f"RRULE:FREQ=MONTHLY;COUNT={rng.randrange(3, 24)}")
            if rng.random() < 0.3:
                extra.append(f"EXDATE:{_z(at + timedelta(days=14))}")
        if n % 41 == 0:
            extra.append("STATUS:CANCELLED")
        uid = f"bench-{n}@example.org"
        lines = [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//weakties bench//EN",
            "BEGIN:VEVENT",
            f"UID:{uid}",
            "DTSTAMP:20200101T000000Z",
            f"DTSTART:{_z(at)}",
            f"DTEND:{_z(at + length)}",
            f"SUMMARY:Meeting number {n}",
            organizer,
            *attendees,
            *extra,
            "END:VEVENT",
            "END:VCALENDAR",
        ]
        found.append((f"e{n}.ics", ("\r\n".join(lines) + "\r\n").encode()))
    return found


def fill(
    server: DavServer, user: DavUser, calendar_url: str, items: list[tuple[str, bytes]]
) -> None:
    """Write the resources into Radicale's storage folder (its multifilesystem layout:
    one file per resource in the collection's folder), then let it build its cache."""
    path = urllib.parse.urlsplit(calendar_url).path.strip("/")
    folder = server.root / "collections" / "collection-root" / path
    if not folder.is_dir():
        raise SystemExit(f"Radicale's folder for {calendar_url} not found at {folder}")
    for name, data in items:
        (folder / name).write_bytes(data)


def client_for(server: DavServer, user: DavUser, timeout: int = 300) -> DAVClient:
    return DAVClient(
        url=server.home_url(user),
        username=user.username,
        password=user.password,
        ssl_verify_cert=str(server.ca_file),
        timeout=timeout,
    )


_SYNC = (
    '<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:">'
    "<D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop>"
    "</D:sync-collection>"
)


def _multiget(hrefs: list[str]) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><C:calendar-multiget xmlns:D="DAV:" '
        'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/>'
        "</D:prop>" + "".join(f"<D:href>{h}</D:href>" for h in hrefs) + "</C:calendar-multiget>"
    )


def baseline(
    server: DavServer, user: DavUser, calendar_url: str, timeout: int = 300
) -> tuple[float, int, int, float]:
    """The bare pass; returns (seconds, resources, (occurrence, attendee) pairs seen,
    CPU seconds of this process)."""
    started, cpu = time.perf_counter(), time.process_time()
    until = datetime.now(UTC) + timedelta(days=366)
    client = client_for(server, user, timeout)
    listing = client.report(calendar_url, _SYNC, depth=0).parse_sync_collection()
    hrefs = [c.href for c in listing.changed if not c.href.endswith("/")]
    resources = pairs = 0
    for low in range(0, len(hrefs), CHUNK):
        response = client.report(calendar_url, _multiget(hrefs[low : low + CHUNK]), depth=None)
        for result in response.parse_calendar_query():
            data = result.calendar_data
            if data is None:
                continue
            resources += 1
            calendar = icalendar.Calendar.from_ical(data)
            for event in recurring_ical_events.of(calendar).between(EPOCH, until):
                people = event.get("ATTENDEE", [])
                pairs += len(people) if isinstance(people, list) else 1
    client.close()
    return time.perf_counter() - started, resources, pairs, time.process_time() - cpu


def listing_floor(server: DavServer, user: DavUser) -> float:
    """The one request of a no-change sync, bare: the calendar home's PROPFIND
    (Depth 1: display names, sync-tokens, CTags), answered by the server; seconds."""
    client = client_for(server, user)
    started = time.perf_counter()
    client.propfind(server.home_url(user), _LISTING, depth=1)
    elapsed = time.perf_counter() - started
    client.close()
    return elapsed


def write_config(path: Path, server: DavServer, user: DavUser) -> None:
    secret = path.parent / "dav.password"
    secret.write_text(user.password + "\n")
    os.chmod(secret, 0o600)
    account = {
        "name": "bench",
        "type": "caldav",
        "url": server.home_url(user),
        "username": user.username,
        "password_file": str(secret),
        "ca_file": str(server.ca_file),
        "timeout": 300,
    }
    path.write_text(
        f'[identity]\naddresses = ["{ME}"]\n[calendar]\ntimezone = "UTC"\n[[account]]\n'
        + "".join(f"{k} = {json.dumps(v)}\n" for k, v in account.items())
    )


def run_weakties(config: Path, db: Path) -> tuple[float, float, str, float]:
    """``weakties sync --once`` as a subprocess: (seconds, peak RSS in MB, stdout, CPU s)."""
    env = {**os.environ, "WEAKTIES_DB": f"sqlite:///{db}"}
    elapsed, usage, out = run_measured(
        [sys.executable, "-m", "syncd", "--config", str(config), "sync", "--once"], env
    )
    return elapsed, usage.ru_maxrss / 1024, out, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=1, help="baseline/first-sync pairs")
    args = parser.parse_args()
    compile_sources()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp, start_radicale() as server:
        user = server.new_user()
        calendar_url = server.make_calendar(user, "Work", slug=f"w{secrets.token_hex(3)}")
        t0 = time.perf_counter()
        fill(server, user, calendar_url, generate(args.events, now))
        # Radicale reads every new file once to build its cache: slow, and not timed
        warm_s, n, _, _ = baseline(server, user, calendar_url, timeout=1800)
        print(
            f"wrote {args.events:,} resources in {time.perf_counter() - t0 - warm_s:.1f} s;"
            f" warm-up pass {warm_s:.1f} s ({n:,} resources)",
            flush=True,
        )
        if n != args.events:
            raise SystemExit(f"Radicale serves {n} resources, not {args.events}")
        config = Path(tmp) / "config.toml"
        write_config(config, server, user)
        ratios, cpu_ratios, peaks = [], [], []
        for r in range(args.repeat):
            base_s, _, pairs, base_cpu = baseline(server, user, calendar_url)
            db = Path(tmp) / f"weakties-{r}.db"
            first_s, peak_mb, summary, first_cpu = run_weakties(config, db)
            ratios.append(first_s / base_s)
            cpu_ratios.append(first_cpu / base_cpu)
            peaks.append(peak_mb)
            print(
                f"  run {r + 1}: baseline {base_s:.2f} s ({pairs:,} occurrence-attendee pairs),"
                f" weakties {first_s:.2f} s, ratio {first_s / base_s:.2f}x; client CPU"
                f" {base_cpu:.2f} / {first_cpu:.2f} s = {first_cpu / base_cpu:.2f}x;"
                f" peak {peak_mb:.0f} MB  [{summary}]",
                flush=True,
            )
        before = server.requests()
        again_s, _, again, _ = run_weakties(config, db)
        requests = server.requests() - before
        floor_s = sorted(listing_floor(server, user) for _ in range(3))[1]
        start_s = import_floor()
    ratio = sorted(ratios)[len(ratios) // 2]
    cpu_ratio = sorted(cpu_ratios)[len(cpu_ratios) // 2]
    peak = max(peaks)
    print("baseline: caldav sync-collection + multiget, icalendar parse, recurring-ical-events")
    print(f"ratio first sync / baseline (median): {ratio:.2f}x  (target <= 1.5x)")
    print(f"  client CPU ratio (median; weakties includes start-up, SQLite): {cpu_ratio:.2f}x")
    print(f"weakties peak memory (max RSS): {peak:.0f} MB  (target < 200 MB)")
    print(
        f"no-change sync: {requests} request(s) for 1 calendar, {again_s:.2f} s"
        f"  (target 1 per calendar)  [{again}]"
    )
    print(
        f"  of which the server's answer to that PROPFIND (bare, median of 3): {floor_s:.2f} s;"
        f" Python start-up + imports: {start_s:.2f} s"
    )
    ok = ratio <= 1.5 and peak < 200 and requests <= 1
    print("all targets met" if ok else "TARGET MISSED")


if __name__ == "__main__":
    main()
