"""The per-address summary of ``interactions`` that ``suggest`` reads.

``address_summary`` holds, for every address ever seen (tracked or not), how
many messages went each way, the first and last time, and the distinct UTC
days with any interaction (packed: 4 bytes a day); ``address_names`` how many
messages carried each display name. :func:`apply` folds a batch's *new* rows
in, in the same transaction as the batch (``sync_writes.save_batch``), so the
summary always equals a recomputation from ``interactions`` (a property test
keeps it so); :func:`rebuild` recomputes it from scratch (the migration that
adds it, and bulk loads such as ``bench/scale.py``).

Concurrent batches (two processes syncing on PostgreSQL): the rows are first
created if missing, then read ``FOR UPDATE`` and rewritten, so no update is
lost; on SQLite the batch already holds the write lock.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, delete, func, select, update

from syncd import schema
from syncd.store.queries import pack_days, unpack_days
from syncd.suggest import EPISODE_GAP

GAP = EPISODE_GAP.days  # days closer than this run into one conversation

SUMMARY, NAMES = schema.address_summary, schema.address_names


def count_conversations(days: Iterable[int]) -> int:
    """How many conversations sorted distinct day ordinals make (as ``suggest.conversations``)."""
    count, previous = 0, None
    for day in days:
        if previous is None or day - previous >= GAP:
            count += 1
        previous = day
    return count


def _insert_day(days: array[int], day: int) -> int:
    """Insert ``day`` into sorted ``days`` (if new); how the conversation count changes.

    Only the neighbours matter: ``day`` starts a conversation unless the day
    before it is closer than the gap, and the day after it may stop starting one."""
    at = bisect_left(days, day)
    if at < len(days) and days[at] == day:
        return 0
    before = days[at - 1] if at > 0 else None
    after = days[at] if at < len(days) else None
    delta = 1 if before is None or day - before >= GAP else 0
    if after is not None:
        was_start = before is None or after - before >= GAP
        delta += (1 if after - day >= GAP else 0) - (1 if was_start else 0)
    days.insert(at, day)
    return delta


def _day(at: datetime) -> int:
    return at.astimezone(UTC).date().toordinal()


class _Delta:
    __slots__ = ("days", "first", "last", "received", "sent")

    def __init__(self, at: datetime) -> None:
        self.sent = self.received = 0
        self.first = self.last = at
        self.days: set[int] = set()


def apply(conn: Connection, insert: Any, new: Iterable[tuple[str, str, str, datetime]]) -> None:
    """Fold newly stored interactions, as (address, name, direction, at), into the summary."""
    deltas: dict[str, _Delta] = {}
    names: dict[tuple[str, str], int] = {}
    for address, name, direction, at in new:
        d = deltas.get(address)
        if d is None:
            d = deltas[address] = _Delta(at)
        if direction == "sent":
            d.sent += 1
        elif direction == "received":
            d.received += 1
        if at < d.first:
            d.first = at
        if at > d.last:
            d.last = at
        d.days.add(_day(at))
        if name:
            names[(address, name)] = names.get((address, name), 0) + 1
    if not deltas:
        return
    conn.execute(
        insert(SUMMARY).on_conflict_do_nothing(),
        [
            {
                "address": a,
                "sent": 0,
                "received": 0,
                "first_at": d.first,
                "last_at": d.last,
                "days": b"",
                "conversations": 0,
            }
            for a, d in deltas.items()
        ],
    )
    current = conn.execute(
        select(SUMMARY.c.address, SUMMARY.c.sent, SUMMARY.c.received, SUMMARY.c.first_at)
        .add_columns(SUMMARY.c.last_at, SUMMARY.c.days, SUMMARY.c.conversations)
        .where(SUMMARY.c.address.in_(list(deltas)))
        .with_for_update()
    )
    changes = []
    for address, sent, received, first, last, blob, count in current:
        d = deltas[address]
        days = unpack_days(blob)
        for day in d.days:
            count += _insert_day(days, day)
        changes.append(
            {
                "b_address": address,
                "sent": sent + d.sent,
                "received": received + d.received,
                "first_at": min(first, d.first),
                "last_at": max(last, d.last),
                "days": pack_days(days),
                "conversations": count,
            }
        )
    conn.execute(
        update(SUMMARY).where(SUMMARY.c.address == bindparam("b_address")),
        changes,
    )
    if names:
        upsert = insert(NAMES)
        conn.execute(
            upsert.on_conflict_do_update(
                index_elements=["address", "name"],
                set_={"count": NAMES.c.count + upsert.excluded.count},
            ),
            [{"address": a, "name": n, "count": c} for (a, n), c in names.items()],
        )


def rebuild(conn: Connection) -> None:
    """Recompute the whole summary from ``interactions`` (in ``conn``'s transaction)."""
    Ix = schema.interactions
    conn.execute(delete(NAMES))
    conn.execute(delete(SUMMARY))
    days: dict[str, list[int]] = {}
    day = func.date(Ix.c.at)
    for address, on in conn.execute(
        select(Ix.c.address, day).group_by(Ix.c.address, day).order_by(Ix.c.address, day)
    ):
        days.setdefault(address, []).append(datetime.fromisoformat(str(on)[:10]).date().toordinal())
    sent = func.sum(case((Ix.c.direction == "sent", 1), else_=0))
    received = func.sum(case((Ix.c.direction == "received", 1), else_=0))
    rows = [
        {
            "address": address,
            "sent": int(n_sent or 0),
            "received": int(n_received or 0),
            "first_at": first,
            "last_at": last,
            "days": pack_days(days.get(address, [])),
            "conversations": count_conversations(days.get(address, [])),
        }
        for address, n_sent, n_received, first, last in conn.execute(
            select(Ix.c.address, sent, received, func.min(Ix.c.at), func.max(Ix.c.at)).group_by(
                Ix.c.address
            )
        )
    ]
    if rows:
        conn.execute(SUMMARY.insert(), rows)
    names = [
        {"address": a, "name": n, "count": int(c)}
        for a, n, c in conn.execute(
            select(Ix.c.address, Ix.c.name, func.count())
            .where(Ix.c.name != "")
            .group_by(Ix.c.address, Ix.c.name)
        )
    ]
    if names:
        conn.execute(NAMES.insert(), names)
