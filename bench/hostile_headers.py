"""Header rules on hostile 100 KB header blocks: milliseconds per block, per shape.

Run: ``python -m bench.hostile_headers [--size 100000] [--runs 5]``

Each shape is one header block of about ``--size`` bytes (Postfix accepts
headers up to 100 KB) built to hit one code path: nested groups, nested or
unterminated comments, escaped quotes, thousands of addresses, thousands of
folded lines, encoded words, raw 8-bit, NULs. ``syncd.rules.interactions`` is
timed on each (best of ``--runs``), and beside it, in the same run, the
baseline: an ordinary 20-address header block of the same size split into
100 KB worth of such blocks (so the ratio says how much worse than ordinary
mail a hostile byte is).

Target (issue 14): every shape under 50 ms per 100 KB (a few ms expected), and
no shape more than 10x the baseline per byte. Exits 1 when a shape misses the
50 ms target.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from connectors.base import FolderRole, HeaderRecord
from syncd.rules import identities, interactions

ME = identities(["me@example.com"])
SERVER = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
TAIL = "Date: Mon, 10 Mar 2025 09:00:00 +0000\r\nMessage-ID: <x@example.org>\r\nSubject: hi\r\n"


def _fill(unit: str, size: int) -> str:
    return unit * max(1, size // len(unit))


def shapes(size: int) -> dict[str, str]:
    """Shape name -> a header block of about ``size`` bytes (text before encoding)."""
    addresses = ", ".join(f"user{i}@example.org" for i in range(size // 20))[:size]
    named = ", ".join(f'"Last, First {i}" <user{i}@example.org>' for i in range(size // 36))
    return {
        "nested groups a:a:a": "From: " + _fill("a:", size) + "b@example.org\r\n",
        "nested comments (((": "From: b@example.org " + _fill("(", size) + "\r\n",
        "closed comments (()())": "From: b@example.org (" + _fill("(x)", size) + ")\r\n",
        'escaped quotes \\"': 'From: "' + _fill('\\"', size) + " <b@example.org>\r\n",
        "closed quotes": "From: " + _fill('"a\\"b" ', size) + "<b@example.org>\r\n",
        "angle brackets <<<": "From: " + _fill("<", size) + "b@example.org>\r\n",
        "at signs @@@": "From: " + _fill("@", size) + "\r\n",
        "5,000-address list": "From: me@example.com\r\nTo: " + addresses + "\r\n",
        "named list with commas": "From: me@example.com\r\nTo: " + named[:size] + "\r\n",
        "groups g:a@b;": "From: me@example.com\r\nTo: " + _fill("g:a@example.org;", size) + "\r\n",
        "empty elements ,,,": "From: me@example.com\r\nTo: " + _fill(",", size) + "a@b.org\r\n",
        "folded lines": "From: me@example.com\r\nTo: "
        + _fill("a@example.org,\r\n ", size)
        + "b@example.org\r\n",
        "whitespace-only folds": "From: b@example.org\r\nSubject: x"
        + _fill("\r\n \t", size)
        + "\r\n",
        "encoded words": "From: " + _fill("=?utf-8?q?=C3=A9?= ", size) + "<b@example.org>\r\n",
        "encoded subject": "From: b@example.org\r\nSubject: "
        + _fill("=?utf-8?b?w6k=?= ", size)
        + "\r\n",
        "bogus charsets": "From: " + _fill("=?\u00fc?q?x?= ", size) + "<b@example.org>\r\n",
        "utf-7 surrogates": "From: " + _fill("=?utf-7?q?+2D3-?= ", size) + "<b@example.org>\r\n",
        "raw 8-bit": "From: " + _fill("\u674e\u00e9", size // 5) + " <b@example.org>\r\n",
        "NULs": "From: " + _fill("\0a", size) + " <b@example.org>\r\n",
        "bare CR": "From: b@example.org\r\nSubject: " + _fill("x\r", size) + "\r\n",
        "many header lines": _fill("X-A: b\r\n", size) + "From: b@example.org\r\n",
        "duplicate To": "From: me@example.com\r\n" + _fill("To: a@example.org\r\n", size),
        "long Message-ID": "From: b@example.org\r\nMessage-ID: " + _fill("<>", size) + "\r\n",
    }


def baseline_blocks(size: int) -> list[bytes]:
    """Ordinary mail worth ``size`` bytes: 20-address blocks."""
    to = ", ".join(f"Person {i} <person{i}@example.org>" for i in range(20))
    block = f"From: me@example.com\r\nTo: {to}\r\n{TAIL}\r\n".encode()
    return [block] * max(1, size // len(block))


def best(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def _record(raw: bytes) -> HeaderRecord:
    return HeaderRecord(headers=raw, server_time=SERVER, folder="INBOX", role=FolderRole.NORMAL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)

    base_records = [_record(b) for b in baseline_blocks(args.size)]
    base = best(lambda: [interactions(r, ME) for r in base_records], args.runs)
    base_bytes = sum(len(r.headers) for r in base_records)
    base_ms = base * 1000 * args.size / base_bytes
    print(f"{'shape':28} {'KB':>6} {'ms/100KB':>9} {'x base':>7}")
    print(f"{'baseline (ordinary mail)':28} {base_bytes / 1000:6.0f} {base_ms:9.2f} {1:7.1f}")
    failed = []
    for name, text in shapes(args.size).items():
        raw = (text + TAIL + "\r\n").encode("utf-8", "surrogatepass")
        rec = _record(raw)
        seconds = best(lambda rec=rec: interactions(rec, ME), args.runs)  # type: ignore[misc]
        per = seconds * 1000 * 100_000 / len(raw)
        print(f"{name:28} {len(raw) / 1000:6.0f} {per:9.2f} {per / base_ms:7.1f}")
        if per > 50:
            failed.append(name)
    if failed:
        print("over 50 ms per 100 KB: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
