"""Calendar sources in the store: resources, their meetings, and the reads over them.

The contract is docs/calendar-design.md. A calendar resource is stored reduced
(``meetings.storable``) together with its evaluated occurrences
(``calendar_meetings``), each with the moment it counts from (its end). Reads
take ``now`` and see only ``counts_from <= now``, so a meeting counts once it
is over without any sync; the same occurrence (dedupe key) in several calendars
or accounts counts once.

* :func:`save_calendar_batch`: one connector batch in one transaction:
  ``removed`` (an href ending in ``/`` is a prefix) before ``events``, each
  event replacing everything its href meant; a resource that cannot be
  evaluated is one warning and counts as removed; the batch's state (an empty
  scope is deleted).
* :func:`refresh_calendar`: after an account's pass, no network: evaluate again
  the resources whose expansion runs out soon, or all of them when the rules
  fingerprint changed.

What ``status``, ``contact show`` and ``suggest`` read of the meetings is in
``syncd.store.queries`` (plain SQL, as every read). Each write here bumps
``store_version``, so the readers' cache follows it.

SQLAlchemy Core only (no ORM on the sync path).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, delete, select, update

from connectors.base import Batch, EventRecord
from syncd import schema
from syncd.store.database import insert_many
from syncd.store.sync_writes import bump_version

log = logging.getLogger("weakties.calendar")

_CHUNK = 500  # keys per IN (...) list: far below every dialect's parameter limit
_T = TypeVar("_T")

R, M = schema.calendar_resources, schema.calendar_meetings


@dataclass(frozen=True)
class Rules:
    """What an evaluation depends on besides the data (``meetings.evaluate``'s arguments)."""

    me: frozenset[str]
    tz: tzinfo
    max_participants: int
    keep_subjects: bool
    horizon: timedelta = timedelta(days=366)  # = meetings.DEFAULT_HORIZON

    @property
    def fingerprint(self) -> str:
        from syncd import meetings

        return meetings.rules_fingerprint(
            self.me,
            tz=self.tz,
            max_participants=self.max_participants,
            keep_subjects=self.keep_subjects,
        )


@dataclass
class Saved:
    """What one batch or refresh stored: resources evaluated, meetings that count now
    and did not before (each occurrence and participant once), and the hrefs written."""

    events: int = 0
    new: int = 0
    hrefs: set[str] = field(default_factory=set)


def _chunks(items: Sequence[_T], size: int = _CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class _Evaluated:
    record: EventRecord
    ical: bytes
    expanded_until: datetime | None
    rows: list[dict[str, Any]]


def _evaluate(account: str, record: EventRecord, rules: Rules, now: datetime) -> _Evaluated | None:
    """One resource evaluated, or None (one warning) when it cannot be."""
    from syncd import meetings

    try:
        evaluation = meetings.evaluate(
            record,
            rules.me,
            now=now,
            tz=rules.tz,
            max_participants=rules.max_participants,
            keep_subjects=rules.keep_subjects,
            horizon=rules.horizon,
        )
        ical = meetings.storable(record, keep_subjects=rules.keep_subjects)
    except Exception as exc:  # EventError, or icalendar failing on what the connector let by
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        log.warning(
            "%s: calendar %r: %s skipped: %s",
            account,
            record.calendar,
            record.href or record.uid,
            reason,
        )
        return None
    rows = [
        {
            "account": account,
            "href": record.href,
            "dedupe_key": m.interaction.dedupe_key,
            "address": m.interaction.address,
            "name": m.interaction.name[:200],
            "at": m.interaction.at,
            "counts_from": m.counts_from,
            "subject": m.interaction.subject,
            "folder": m.interaction.folder[:500],
            "message_id": m.interaction.message_id,
        }
        for m in evaluation.meetings
    ]
    return _Evaluated(record, ical, evaluation.expanded_until, rows)


def _counted_before(
    conn: Connection, pairs: set[tuple[str, str]], now: datetime
) -> set[tuple[str, str]]:
    """Those of ``pairs`` (dedupe key, address) that the store counts at ``now``."""
    keys = sorted({key for key, _ in pairs})
    found: set[tuple[str, str]] = set()
    for chunk in _chunks(keys):
        rows = conn.execute(
            select(M.c.dedupe_key, M.c.address)
            .where(M.c.dedupe_key.in_(chunk), M.c.counts_from <= now)
            .distinct()
        )
        found.update((key, address) for key, address in rows if (key, address) in pairs)
    return found


def _delete_hrefs(conn: Connection, account: str, hrefs: Sequence[str]) -> None:
    for chunk in _chunks(hrefs):
        conn.execute(delete(M).where(M.c.account == account, M.c.href.in_(chunk)))
        conn.execute(delete(R).where(R.c.account == account, R.c.href.in_(chunk)))


def _delete_prefix(conn: Connection, account: str, prefix: str) -> None:
    conn.execute(
        delete(M).where(M.c.account == account, M.c.href.startswith(prefix, autoescape=True))
    )
    conn.execute(
        delete(R).where(R.c.account == account, R.c.href.startswith(prefix, autoescape=True))
    )


def _write_state(
    conn: Connection,
    insert: Callable[..., Any],
    account: str,
    state: dict[str, dict[str, Any]],
    now: datetime,
) -> None:
    table = schema.sync_state
    for scope, value in state.items():
        if not value:  # a calendar or file that is gone: forget its cursor
            conn.execute(delete(table).where(table.c.account == account, table.c.scope == scope))
            continue
        upsert = insert(table).values(account=account, scope=scope, state=value, updated_at=now)
        conn.execute(
            upsert.on_conflict_do_update(
                index_elements=["account", "scope"],
                set_={"state": upsert.excluded.state, "updated_at": upsert.excluded.updated_at},
            )
        )


def _store(
    conn: Connection, account: str, evaluated: Sequence[_Evaluated], *, resources: bool = True
) -> None:
    """Insert the resources (or only update their expansion) and their meetings."""
    if resources and evaluated:
        conn.execute(
            R.insert(),
            [
                {
                    "account": account,
                    "href": e.record.href,
                    "calendar": e.record.calendar[:500],
                    "uid": e.record.uid,
                    "etag": e.record.etag,
                    "ical": e.ical,
                    "expanded_until": e.expanded_until,
                }
                for e in evaluated
            ],
        )
    elif evaluated:
        for e in evaluated:
            conn.execute(
                update(R)
                .where(R.c.account == account, R.c.href == e.record.href)
                .values(ical=e.ical, expanded_until=e.expanded_until)
            )
    rows = [row for e in evaluated for row in e.rows]
    for chunk in _chunks(rows, 2000):
        insert_many(conn, M, list(chunk))


def _evaluate_all(
    account: str, records: Sequence[EventRecord], rules: Rules, now: datetime
) -> tuple[list[_Evaluated], list[str]]:
    """Each record evaluated (CPU before the transaction, so the write lock is held
    briefly); the hrefs of those that could not be."""
    evaluated: list[_Evaluated] = []
    failed: list[str] = []
    for record in records:
        done = _evaluate(account, record, rules, now)
        if done is None:
            failed.append(record.href)
        else:
            evaluated.append(done)
    return evaluated, failed


def _new_pairs(evaluated: Iterable[_Evaluated], now: datetime) -> set[tuple[str, str]]:
    return {
        (row["dedupe_key"], row["address"])
        for e in evaluated
        for row in e.rows
        if row["counts_from"] <= now
    }


def _merge_records(events: Sequence[EventRecord]) -> list[EventRecord]:
    """One record per href. Several records may share one href only from .ics
    files (one per UID, distinct hrefs); a repeated href keeps the last one."""
    by_href: dict[str, EventRecord] = {}
    for record in events:
        by_href.pop(record.href, None)
        by_href[record.href] = record
    return list(by_href.values())


def save_calendar_batch(
    engine: Engine,
    insert: Callable[..., Any],
    account: str,
    batch: Batch,
    rules: Rules,
    now: datetime,
) -> Saved:
    """Store one calendar batch and its state in one transaction (see the module docstring)."""
    records = _merge_records(batch.events)
    evaluated, failed = _evaluate_all(account, records, rules, now)
    candidates = _new_pairs(evaluated, now)
    with engine.begin() as conn:
        before = _counted_before(conn, candidates, now) if candidates else set()
        for href in batch.removed:
            if href.endswith("/"):
                _delete_prefix(conn, account, href)
            else:
                _delete_hrefs(conn, account, [href])
        _delete_hrefs(conn, account, [e.record.href for e in evaluated] + failed)
        _store(conn, account, evaluated)
        _write_state(conn, insert, account, batch.state, now)
        if evaluated or failed or batch.removed:
            bump_version(conn)
    return Saved(
        events=len(batch.events),
        new=len(candidates - before),
        hrefs={r.href for r in records},
    )


def refresh_calendar(
    engine: Engine,
    insert: Callable[..., Any],
    account: str,
    rules: Rules,
    now: datetime,
    *,
    touched: set[str] | frozenset[str] = frozenset(),
) -> Saved:
    """After an account's pass (no network): evaluate stored resources again where
    needed, and count the meetings that started counting since the last pass.

    Every resource is evaluated again when the rules fingerprint differs from
    the stored one; otherwise only those whose expansion ends before
    ``now + horizon / 2``. ``touched``: the hrefs this pass has just stored
    (already evaluated with these rules).
    """
    rules_table = schema.calendar_rules
    fingerprint = rules.fingerprint
    with engine.connect() as conn:
        row = conn.execute(
            select(rules_table.c.fingerprint, rules_table.c.checked_at).where(
                rules_table.c.account == account
            )
        ).first()
        has_resources = (
            conn.execute(select(R.c.href).where(R.c.account == account).limit(1)).first()
            is not None
        )
    if row is None and not has_resources:
        return Saved()
    stored_fp, checked_at = (row[0], row[1]) if row is not None else (None, None)
    query = select(R.c.href, R.c.calendar, R.c.uid, R.c.etag, R.c.ical).where(
        R.c.account == account
    )
    if stored_fp == fingerprint:
        query = query.where(R.c.expanded_until <= now + rules.horizon / 2)
    with engine.connect() as conn:
        stale = [
            EventRecord(calendar=c, href=h, uid=u, ical=bytes(i), etag=e)
            for h, c, u, e, i in conn.execute(query)
            if h not in touched
        ]
    result = Saved()
    for chunk in _chunks(stale):
        evaluated, failed = _evaluate_all(account, chunk, rules, now)
        candidates = _new_pairs(evaluated, now)
        with engine.begin() as conn:
            before = _counted_before(conn, candidates, now) if candidates else set()
            _delete_hrefs(conn, account, failed)
            for part in _chunks([e.record.href for e in evaluated]):
                conn.execute(delete(M).where(M.c.account == account, M.c.href.in_(part)))
            _store(conn, account, evaluated, resources=False)
            bump_version(conn)
        result.events += len(chunk)
        result.new += len(candidates - before)
        result.hrefs.update(r.href for r in chunk)
    with engine.begin() as conn:
        if checked_at is not None:  # meetings that ended since the last pass, unchanged
            done_hrefs = set(touched) | result.hrefs
            ended = conn.execute(
                select(M.c.dedupe_key, M.c.address, M.c.href).where(
                    M.c.account == account,
                    M.c.counts_from > checked_at,
                    M.c.counts_from <= now,
                )
            )
            result.new += len({(k, a) for k, a, h in ended if h not in done_hrefs})
        # meetings that ended since the last pass count now: the readers' cache goes
        bump_version(conn)
        upsert = insert(rules_table).values(
            account=account, fingerprint=fingerprint, checked_at=now
        )
        conn.execute(
            upsert.on_conflict_do_update(
                index_elements=["account"],
                set_={
                    "fingerprint": upsert.excluded.fingerprint,
                    "checked_at": upsert.excluded.checked_at,
                },
            )
        )
    return result


__all__ = ["Rules", "Saved", "refresh_calendar", "save_calendar_batch"]
