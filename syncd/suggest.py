"""Discovering weak ties: which untracked correspondents are worth keeping, and how often.

Owns the ranking, the proposed cadence, the reason in words and the proposed
name; the numbers come from :meth:`syncd.store.Store.correspondents` (SQL
aggregates). Pure functions over those rows, plus the "1,3-5" picker syntax.

Who can be suggested: an address that is not tracked yet, with at least one
*sent* and at least one *received* interaction (a real two-way exchange), or
a past meeting with them (a meeting is a two-way exchange: it counts as one
message each way in the score, and its day is a contact day).
Newsletters and machine mail never count as received (``syncd/rules.py``);
on top of that, no-reply style addresses (``noreply@``, ``no-reply@``,
``donotreply@``, ``mailer-daemon@``, ``notifications@``, ...) and the user's
own addresses are never suggested.

Conversations: contact days less than :data:`EPISODE_GAP` apart belong to the
same conversation (a thread going back and forth over a few days is one
exchange). The score rewards many separate conversations, a balanced
exchange (both sides write), a long acquaintance and a recent last contact;
see :func:`score`. The proposed cadence is the median gap between the starts
of conversations, clamped to 30d..365d; with a single conversation there is
no rhythm yet and the configured default cadence (clamped the same way) is
proposed.
"""

from __future__ import annotations

import itertools
import math
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from syncd.addresses import normalize
from syncd.durations import format_duration
from syncd.model import Correspondent, name_problem

EPISODE_GAP = timedelta(days=7)
MIN_CADENCE = timedelta(days=30)
MAX_CADENCE = timedelta(days=365)

#: Local parts (before ``+``) of addresses no person reads.
_ROBOT_LOCAL = re.compile(
    r"^(?:.*no[-_.]?reply.*|.*do[-_.]?not[-_.]?reply.*|mailer[-_.]?daemon|postmaster"
    r"|notifications?|notify|bounces?|bounce[-_.].*|.*[-_.]bounces?|alerts?|daemon"
    r"|automated|auto[-_.]?reply)$"
)


@dataclass(frozen=True)
class Suggestion:
    address: str
    name: str  # proposed: the display name seen most often, else the address
    cadence: timedelta  # proposed, from the past rhythm
    score: float
    sent: int
    received: int
    conversations: int
    first: datetime
    last: datetime
    reason: str  # "12 exchanges over 4 years, last 8 months ago"
    met: int = 0  # meetings (occurrences) with them


def is_robot(address: str) -> bool:
    """A no-reply / notification / bounce address that no person answers."""
    local = address.rpartition("@")[0].lower()
    return bool(_ROBOT_LOCAL.match(local))


def conversations(days: Iterable[date], gap: timedelta = EPISODE_GAP) -> list[date]:
    """The first day of each conversation: days closer than ``gap`` run together."""
    starts: list[date] = []
    previous: date | None = None
    for day in sorted(set(days)):
        if previous is None or day - previous >= gap:
            starts.append(day)
        previous = day
    return starts


def proposed_cadence(starts: list[date], default: timedelta) -> timedelta:
    """Median gap between conversation starts, whole days, clamped to 30d..365d."""
    if len(starts) < 2:
        typical = default
    else:
        gaps = [(b - a).days for a, b in itertools.pairwise(starts)]
        typical = timedelta(days=round(statistics.median(gaps)))
    return max(MIN_CADENCE, min(MAX_CADENCE, typical))


def score(
    sent: int, received: int, n_conversations: int, span: timedelta, since_last: timedelta
) -> float:
    """How real the tie is: more conversations, balanced, long, recent -> higher.

    ``log2(1 + conversations)`` (the main term) + balance (the smaller side
    over the larger, 0..1) + ``log2(1 + years known)``, times a recency factor
    going from 1 (last contact now) towards 0.5 (years ago).
    """
    balance = min(sent, received) / max(sent, received, 1)
    years = max(span.total_seconds(), 0) / (365 * 86400)
    years_since = max(since_last.total_seconds(), 0) / (365 * 86400)
    recency = 0.5 + 0.5 / (1 + years_since)
    return (math.log2(1 + n_conversations) + balance + math.log2(1 + years)) * recency


def proposed_name(names: dict[str, int], address: str) -> str:
    """The display name seen in most messages (not an address), else the address."""
    usable = {
        n: c
        for n, c in ((n.strip().strip("'\""), c) for n, c in names.items())
        if n and "@" not in n and name_problem(n) is None
    }
    if not usable:
        return address
    return max(sorted(usable), key=lambda n: usable[n])


def reason(
    n_conversations: int,
    sent: int,
    received: int,
    span: timedelta,
    since_last: timedelta,
    met: int = 0,
) -> str:
    words = f"{n_conversations} exchange{'s' if n_conversations != 1 else ''}"
    if span >= timedelta(days=1):
        words += f" over {format_duration(span)}"
    parts = [f"you wrote {sent}", f"they wrote {received}"] if sent or received or not met else []
    if met:
        parts.append(f"met {met} time{'s' if met != 1 else ''}")
    words += f" ({', '.join(parts)})"
    return f"{words}, last {format_duration(since_last)} ago"


def shortlist(
    rows: Iterable[Correspondent], mine: Iterable[str], now: datetime, limit: int
) -> list[str]:
    """The addresses of the best ``limit`` suggestions, ranked as :func:`suggestions`
    ranks them, from rows that carry their conversation count (no days needed):
    the store then loads days and names for these few only."""
    me = {m for a in mine if (m := normalize(a))}
    ranked = []
    for row in rows:
        if row.address in me or is_robot(row.address):
            continue
        n = row.conversations if row.conversations is not None else len(conversations(row.days))
        span, since = row.last - row.first, now - row.last
        sent, received = row.sent + row.met, row.received + row.met  # a meeting: both ways
        ranked.append((round(score(sent, received, n, span, since), 3), row.last, row.address))
    ranked.sort(key=lambda r: (-r[0], -r[1].timestamp(), r[2]))  # as suggestions() sorts
    return [address for _, _, address in ranked[:limit]]


def suggestions(
    rows: Iterable[Correspondent],
    mine: Iterable[str],
    now: datetime,
    default_cadence: timedelta,
    limit: int | None = None,
) -> list[Suggestion]:
    """Rank the two-way correspondents (see the module docstring), best first."""
    me = {n for a in mine if (n := normalize(a))}
    found = []
    for row in rows:
        if row.address in me or is_robot(row.address):
            continue
        name = proposed_name(row.names, row.address)
        if name_problem(name) is not None:  # e.g. -w@example.org: never a name to add
            continue
        starts = conversations(row.days)
        span, since = row.last - row.first, now - row.last
        found.append(
            Suggestion(
                address=row.address,
                name=name,
                cadence=proposed_cadence(starts, default_cadence),
                score=round(
                    score(row.sent + row.met, row.received + row.met, len(starts), span, since), 3
                ),
                sent=row.sent,
                received=row.received,
                conversations=len(starts),
                first=row.first,
                last=row.last,
                reason=reason(len(starts), row.sent, row.received, span, since, row.met),
                met=row.met,
            )
        )
    found.sort(key=lambda s: (-s.score, -s.last.timestamp(), s.address))
    return found[:limit] if limit is not None else found


def parse_selection(text: str, count: int) -> list[int]:
    """``"1,3-5"`` -> ``[0, 2, 3, 4]`` (0-based); ``"all"``; empty or ``"none"`` -> ``[]``.

    Raises ValueError with a message for the user on anything else.
    """
    text = text.strip().lower()
    if text in ("", "none", "n", "no"):
        return []
    if text in ("all", "a", "*"):
        return list(range(count))
    chosen: list[int] = []
    for part in re.split(r"[,\s]+", text):
        if not part:
            continue
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise ValueError(f"not a number or range: {part!r} (e.g. 1,3-5 or all)")
        low = int(match.group(1))
        high = int(match.group(2) or low)
        if low < 1 or high > count or low > high:
            raise ValueError(f"{part}: choose between 1 and {count}")
        chosen += [i - 1 for i in range(low, high + 1) if i - 1 not in chosen]
    return chosen
