"""Gmail sync benchmark against the local Gmail API stand-in (127.0.0.1 only).

Run: ``python -m bench.gmail [--messages 20000] [--latency 0] [--rounds 3]``

It starts ``tests.gmail_standin`` with a generated mailbox, points a gmail
account at it (``api_endpoint`` + a token file whose ``token_uri`` is the
stand-in), and measures in the same run, in this process beside the stand-in:

* baseline: a bare google-api-python-client pass doing the same protocol work
  -- ``users.messages.list`` over all pages (``connectors.gmail.LIST_PAGE`` a
  page) and ``users.messages.get(format="metadata", metadataHeaders=HEADER_FIELDS)``
  for every id, in ``BatchHttpRequest`` batches of ``connectors.gmail.BATCH_SIZE``
  -- collecting each message's header list and parsing nothing more; it uses a
  ready access token from the stand-in, so it skips the token refresh and the
  ``getProfile`` call weakties makes (2 small requests of its 442);
* weakties' first (full) sync, through the engine as ``weakties sync --once``
  runs it (config file, token file, store, rules; Python start-up and imports
  are left out on both sides): wall time, its ratio to the
  baseline, HTTP requests, API calls, quota units and units per 1,000 messages,
  and how long Google's quota alone would make it take at the default
  ``quota_per_minute``;
* both sides' client-side CPU (this thread's CPU time, the stand-in's server
  threads left out), shown for comparison -- the target is on wall time;
* an incremental pass after 100 new messages;
* a pass with nothing new.

The baseline and the full sync alternate for ``--rounds`` rounds (each full
sync into a fresh database) and the medians are compared: these machines are
noisy. Target: full sync <= 1.5x baseline (as for IMAP, bench/imap_sync.py).
Both sides share the stand-in's CPU time (it runs in this process, as a Python
HTTP server), which is part of both figures.

The quota bucket is set high here so nothing sleeps; the units are counted
from the stand-in's own call log (``connectors.gmail.UNITS`` per call), not
from the connector's counters. ``--latency`` adds a per-request delay to
mimic a real network round trip.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.http import BatchHttpRequest

from connectors.base import HEADER_FIELDS
from connectors.gmail import BATCH_SIZE, LIST_PAGE, UNITS, GmailSettings
from syncd import config, engine
from syncd.store import open_store
from tests.gmail_standin import GmailStandin

ME = "me@example.com"
DEFAULT_QUOTA = GmailSettings(client_secrets="-").quota_per_minute


def load(standin: GmailStandin, count: int, start: int = 0) -> None:
    """A plausible mailbox: 2,000 correspondents, a fifth sent by me, some newsletters."""
    base = datetime(2020, 1, 1, tzinfo=UTC)
    for n in range(start, start + count):
        at = base + timedelta(minutes=47 * n)
        peer = f"Person {n % 2000} <person{n % 2000}@example.org>"
        sent = n % 5 == 0
        sender, to = (ME, peer) if sent else (peer, ME)
        headers = [
            ("From", sender),
            ("To", to),
            ("Subject", f"message number {n}"),
            ("Date", format_datetime(at)),
            ("Message-ID", f"<{n}@bench.example>"),
            ("Received", "from mx.example.org by mx.google.com"),
            ("Content-Type", "text/plain"),
        ]
        if n % 17 == 0:
            headers.append(("List-Id", "<news.example.org>"))
        labels = ["SENT"] if sent else ["INBOX", "CATEGORY_PERSONAL"]
        standin.add(headers, labels, at)


def baseline(standin: GmailStandin) -> dict:
    """A bare google-api-python-client pass: list every page, get every message's
    metadata headers in batches; returns its wall time and what the stand-in saw."""
    token = standin.authorized_user(with_access_token=True)["token"]
    endpoint = standin.url
    standin.reset_counters()
    started, cpu = time.perf_counter(), time.thread_time()
    service = build(
        "gmail",
        "v1",
        credentials=Credentials(token),
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": endpoint},
    )
    messages = service.users().messages()
    header_lists: list[list[dict[str, str]]] = []

    def collect(_request_id: str, response: dict, exc: Exception | None) -> None:
        if exc is not None:
            raise exc
        header_lists.append(response["payload"]["headers"])

    page_token = None
    while True:
        page = messages.list(userId="me", maxResults=LIST_PAGE, pageToken=page_token).execute()
        ids = [m["id"] for m in page.get("messages") or []]
        for low in range(0, len(ids), BATCH_SIZE):
            batch = BatchHttpRequest(callback=collect, batch_uri=f"{endpoint}/batch/gmail/v1")
            for message_id in ids[low : low + BATCH_SIZE]:
                batch.add(
                    messages.get(
                        userId="me",
                        id=message_id,
                        format="metadata",
                        metadataHeaders=list(HEADER_FIELDS),
                    )
                )
            batch.execute()
        page_token = page.get("nextPageToken")
        if not page_token:
            break
    wall, cpu = time.perf_counter() - started, time.thread_time() - cpu
    service.close()
    return {
        "messages": len(header_lists),
        "wall_s": round(wall, 3),
        "client_cpu_s": round(cpu, 3),
        "http_requests": standin.http_requests,
        "api_calls": dict(Counter(c["method"] for c in standin.calls)),
    }


def write_config(tmp: str, standin: GmailStandin, token: Path, db: str) -> config.Config:
    config_path = Path(tmp) / f"{db}.toml"
    config_path.write_text(
        f'[identity]\naddresses = ["{ME}"]\n'
        f'[database]\nurl = "sqlite:///{tmp}/{db}.db"\n'
        f'[[account]]\nname = "bench"\ntype = "gmail"\nclient_secrets = "{tmp}/cs.json"\n'
        f'token_file = "{token}"\napi_endpoint = "{standin.url}"\n'
        "quota_per_minute = 1000000000\n"
    )  # never sleep here; units are reported
    return config.load(config_path)


def times(rows: list[dict]) -> str:
    return ", ".join(f"{row['wall_s']:.2f}" for row in rows)


def measure(standin: GmailStandin, cfg: config.Config, label: str, messages: int) -> dict:
    standin.reset_counters()
    store = open_store(cfg.database_url)
    started, cpu = time.perf_counter(), time.thread_time()
    [result] = engine.sync_all(store, cfg)
    wall, cpu = time.perf_counter() - started, time.thread_time() - cpu
    store.close()
    if not result.ok:
        raise SystemExit(f"{label}: sync failed: {result.error}")
    calls = Counter(c["method"] for c in standin.calls)
    units = sum(UNITS.get(method, 0) * n for method, n in calls.items())
    row = {
        "pass": label,
        "messages": result.scanned,
        "new_interactions": result.new,
        "wall_s": round(wall, 3),
        "client_cpu_s": round(cpu, 3),
        "http_requests": standin.http_requests,
        "api_calls": dict(calls),
        "quota_units": units,
        "units_per_1000_messages": round(units * 1000 / messages, 1) if messages else None,
        "minutes_at_default_quota": round(units / DEFAULT_QUOTA, 2),
    }
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="seconds added to each HTTP request by the stand-in",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="baseline / full sync pairs; the medians are compared"
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    rounds = max(1, args.rounds)

    with tempfile.TemporaryDirectory() as tmp, GmailStandin(ME, latency=args.latency) as standin:
        started = time.perf_counter()
        load(standin, args.messages)
        loaded = time.perf_counter() - started
        bases, fulls = [], []
        for n in range(rounds):
            bases.append(baseline(standin))
            token = Path(tmp) / f"token{n}.json"  # as 'weakties auth' left it: refreshed first
            token.write_text(json.dumps(standin.authorized_user()))
            token.chmod(0o600)
            cfg = write_config(tmp, standin, token, f"bench{n}")
            fulls.append(measure(standin, cfg, "full sync", args.messages))
            if bases[-1]["messages"] != fulls[-1]["messages"]:
                raise SystemExit(
                    f"baseline saw {bases[-1]['messages']} messages, "
                    f"weakties {fulls[-1]['messages']}"
                )
        base_s = statistics.median(b["wall_s"] for b in bases)
        full_s = statistics.median(f["wall_s"] for f in fulls)
        base_cpu = statistics.median(b["client_cpu_s"] for b in bases)
        full_cpu = statistics.median(f["client_cpu_s"] for f in fulls)
        # the counts are the same each round; the times are the medians
        base = dict(bases[-1], wall_s=round(base_s, 3), client_cpu_s=round(base_cpu, 3))
        rows = [dict(fulls[-1], wall_s=round(full_s, 3), client_cpu_s=round(full_cpu, 3))]
        load(standin, 100, start=args.messages)
        rows.append(measure(standin, cfg, "incremental (+100)", 100))  # on the last database
        rows.append(measure(standin, cfg, "no change", 0))

    ratio = full_s / base_s
    ok = ratio <= 1.5
    if args.json:
        print(
            json.dumps(
                {
                    "baseline": base,
                    "baseline_rounds_s": [b["wall_s"] for b in bases],
                    "full_sync_rounds_s": [f["wall_s"] for f in fulls],
                    "ratio_full_sync_to_baseline": round(ratio, 3),
                    "target_ratio": 1.5,
                    "targets_met": ok,
                    "passes": rows,
                },
                indent=2,
            )
        )
        return
    print(
        f"Gmail API stand-in on 127.0.0.1: {args.messages} messages "
        f"(loaded in {loaded:.1f}s), per-request latency {args.latency * 1000:.0f} ms"
    )
    print(
        f"\nbaseline (bare google-api-python-client: messages.list + batched messages.get "
        f"metadata, {BATCH_SIZE} a batch): {base['messages']} messages in {base_s:.2f}s "
        f"(median of {rounds}: {times(bases)})"
    )
    print(f"  HTTP requests {base['http_requests']}, API calls {base['api_calls']}")
    print(
        f"weakties full sync (engine, as 'weakties sync --once' runs it): {full_s:.2f}s "
        f"(median of {rounds}: {times(fulls)})"
    )
    print(f"ratio full sync / baseline: {ratio:.2f}x  (target <= 1.5x)")
    print(
        f"  for comparison, client-side CPU alone (the stand-in's threads left out, medians):"
        f" baseline {base_cpu:.2f}s, weakties {full_cpu:.2f}s = {full_cpu / base_cpu:.2f}x"
    )
    for row in rows:
        per_k = row["units_per_1000_messages"]
        print(
            f"\n{row['pass']}: {row['messages']} messages, {row['new_interactions']} new "
            f"interactions in {row['wall_s']:.2f}s"
        )
        print(f"  HTTP requests {row['http_requests']}, API calls {row['api_calls']}")
        print(
            f"  quota units {row['quota_units']}"
            + (f" = {per_k} per 1,000 messages" if per_k is not None else "")
            + f"; at quota_per_minute = {DEFAULT_QUOTA} that is at least "
            f"{row['minutes_at_default_quota']} min of quota"
        )
    print(
        "\nall targets met" if ok else f"\nTARGET MISSED: full sync / baseline {ratio:.2f}x > 1.5x"
    )


if __name__ == "__main__":
    main()
