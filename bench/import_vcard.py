"""``weakties import`` on big vCard files: memory of a 50 MB export, linearity in EMAIL lines.

Run: ``python -m bench.import_vcard [--mb 50] [--emails 100000]``

Each measurement is ``syncd.importers.read`` in a fresh subprocess (its peak
RSS is the process's own), in the same run:

* a ``--mb`` MB export of ordinary cards (name, N, an address, a phone, a
  note): seconds and peak memory;
* one card with ``--emails`` EMAIL lines beside one with a quarter of them:
  the time ratio (linear: about 4; the quadratic reader took 97 s for 100,000).

Targets (issue 14): peak memory under 200 MB for 50 MB; the ratio under 6.
Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from syncd import importers
started = time.perf_counter()
parsed = importers.read(Path(sys.argv[1]))
print(json.dumps({"seconds": time.perf_counter() - started, "cards": len(parsed.cards),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def export(path: Path, megabytes: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        n = 0
        while out.tell() < megabytes * 1_000_000:
            out.write(
                f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Person {n}\r\nN:{n};Person;;;\r\n"
                f"EMAIL;TYPE=work:p{n}@example.org\r\nTEL:+1 555 {n:07d}\r\n"
                f"NOTE:{'met at the conference, ' * 6}\r\nEND:VCARD\r\n"
            )
            n += 1


def one_card(path: Path, emails: int) -> None:
    lines = "".join(f"EMAIL:u{i}@example.org\r\n" for i in range(emails))
    path.write_text(f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Many\r\n{lines}END:VCARD\r\n")


def measure(path: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--emails", type=int, default=100_000)
    args = parser.parse_args(argv)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "export.vcf"
        export(big, args.mb)
        m = measure(big)
        print(
            f"{args.mb} MB export: {m['cards']:.0f} cards, {m['seconds']:.1f} s, "
            f"peak {m['rss_mb']:.0f} MB (target < 200 MB)"
        )
        ok &= m["rss_mb"] < 200
        small, large = Path(tmp) / "quarter.vcf", Path(tmp) / "full.vcf"
        one_card(small, args.emails // 4)
        one_card(large, args.emails)
        a, b = measure(small), measure(large)
        ratio = b["seconds"] / a["seconds"]
        print(
            f"one card, {args.emails // 4} EMAIL lines: {a['seconds']:.2f} s; "
            f"{args.emails}: {b['seconds']:.2f} s; ratio {ratio:.1f} (linear ~4, target < 6)"
        )
        ok &= ratio < 6
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
