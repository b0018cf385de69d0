"""Gmail sync benchmark against the local Gmail API stand-in (127.0.0.1 only).

Run: ``python -m bench.gmail [--messages 20000] [--latency 0]``

It starts ``tests.gmail_standin`` with a generated mailbox, points a gmail
account at it (``api_endpoint`` + a token file whose ``token_uri`` is the
stand-in), and runs weakties' engine in this process:

* the first (full) sync: wall time, HTTP requests, API calls, quota units and
  units per 1,000 messages, and how long Google's quota alone would make it
  take at the default ``quota_per_minute``;
* an incremental pass after 100 new messages;
* a pass with nothing new.

The quota bucket is set high here so nothing sleeps; the units are counted
from the stand-in's own call log (``connectors.gmail.UNITS`` per call), not
from the connector's counters. ``--latency`` adds a per-request delay to
mimic a real network round trip.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from connectors.gmail import UNITS, GmailSettings
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
        headers = [("From", sender), ("To", to), ("Subject", f"message number {n}"),
                   ("Date", format_datetime(at)), ("Message-ID", f"<{n}@bench.example>"),
                   ("Received", "from mx.example.org by mx.google.com"),
                   ("Content-Type", "text/plain")]
        if n % 17 == 0:
            headers.append(("List-Id", "<news.example.org>"))
        labels = ["SENT"] if sent else ["INBOX", "CATEGORY_PERSONAL"]
        standin.add(headers, labels, at)


def measure(standin: GmailStandin, cfg: config.Config, label: str, messages: int) -> dict:
    standin.reset_counters()
    store = open_store(cfg.database_url)
    started = time.perf_counter()
    [result] = engine.sync_all(store, cfg)
    wall = time.perf_counter() - started
    store.close()
    if not result.ok:
        raise SystemExit(f"{label}: sync failed: {result.error}")
    calls = Counter(c["method"] for c in standin.calls)
    units = sum(UNITS.get(method, 0) * n for method, n in calls.items())
    row = {"pass": label, "messages": result.scanned, "new_interactions": result.new,
           "wall_s": round(wall, 3), "http_requests": standin.http_requests,
           "api_calls": dict(calls), "quota_units": units,
           "units_per_1000_messages": round(units * 1000 / messages, 1) if messages else None,
           "minutes_at_default_quota": round(units / DEFAULT_QUOTA, 2)}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds added to each HTTP request by the stand-in")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, GmailStandin(ME, latency=args.latency) as standin:
        started = time.perf_counter()
        load(standin, args.messages)
        loaded = time.perf_counter() - started
        token = Path(tmp) / "token.json"
        token.write_text(json.dumps(standin.authorized_user()))
        token.chmod(0o600)
        config_path = Path(tmp) / "config.toml"
        config_path.write_text(
            f'[identity]\naddresses = ["{ME}"]\n'
            f'[database]\nurl = "sqlite:///{tmp}/bench.db"\n'
            f'[[account]]\nname = "bench"\ntype = "gmail"\nclient_secrets = "{tmp}/cs.json"\n'
            f'token_file = "{token}"\napi_endpoint = "{standin.url}"\n'
            "quota_per_minute = 1000000000\n")  # never sleep here; units are reported
        cfg = config.load(config_path)

        rows = [measure(standin, cfg, "full sync", args.messages)]
        load(standin, 100, start=args.messages)
        rows.append(measure(standin, cfg, "incremental (+100)", 100))
        rows.append(measure(standin, cfg, "no change", 0))

    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"Gmail API stand-in on 127.0.0.1: {args.messages} messages "
          f"(loaded in {loaded:.1f}s), per-request latency {args.latency * 1000:.0f} ms")
    for row in rows:
        per_k = row["units_per_1000_messages"]
        print(f"\n{row['pass']}: {row['messages']} messages, {row['new_interactions']} new "
              f"interactions in {row['wall_s']:.2f}s")
        print(f"  HTTP requests {row['http_requests']}, API calls {row['api_calls']}")
        print(f"  quota units {row['quota_units']}"
              + (f" = {per_k} per 1,000 messages" if per_k is not None else "")
              + f"; at quota_per_minute = {DEFAULT_QUOTA} that is at least "
              f"{row['minutes_at_default_quota']} min of quota")


if __name__ == "__main__":
    main()
