"""What the read commands ask: contacts with their last dates, one contact's
evidence, what was told (per channel, the daily budget, the digest), and the
correspondents suggestions are made from.

Each function asks the database only for what its command shows, in plain
SQL that both dialects read the same way, through a :data:`Run` callable:
``Store`` hands in either a stdlib ``sqlite3`` connection (the read commands
on a SQLite file then never import SQLAlchemy) or a SQLAlchemy connection.
They return the model's value types (``ContactFacts``, ``Correspondent``,
``Told``), never rows.

* ``contacts``: one indexed look-up per tracked address and direction for the
  latest time (``MAX(at)`` on the ``(address, direction, at)`` index is a
  seek, not a scan, so it costs the same at a thousand interactions or a
  million), one grouped query over the touches; each last-date field is one
  entry of :data:`LASTS`; ``last_met`` is the latest meeting whose end
  (``counts_from``) is at or before ``:now``.
* ``evidence``: that contact's rows only, meetings among them (one per
  occurrence however many calendars or accounts hold it).
* ``correspondents``: the per-address summary sync keeps (``syncd.store.summary``),
  with the meetings over at ``now`` folded in as two-way exchanges.
* ``leases``: which daemon polls which account (``service status``).

Times are passed as aware datetimes; ``Store`` binds them as the columns
store them (naive UTC; on SQLite the text SQLAlchemy writes).
"""

from __future__ import annotations

import json
import sys
from array import array
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from syncd.errors import no_contact
from syncd.model import ContactFacts, Correspondent, Lease, Told

#: Run one statement (``:name`` parameters) and return its rows as tuples.
Run = Callable[[str, dict[str, Any]], list[tuple[Any, ...]]]


_LIMIT = int(timedelta.max.total_seconds())


def stored_cadence(value: int | None) -> timedelta | None:
    """A ``cadence_seconds`` read back; a value beyond what a timedelta holds is
    clamped (the lapse check then skips the contact as out of range)."""
    if value is None:
        return None
    return timedelta(seconds=max(-_LIMIT, min(value, _LIMIT)))


def aware(at: datetime | str) -> datetime:
    """A time read back from the database, in UTC: SQLite gives the stored text
    (naive UTC, as ``syncd.schema.UTCDateTime`` writes it), PostgreSQL a naive
    or aware datetime."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def pack_days(days: Iterable[int]) -> bytes:
    """Sorted distinct day ordinals as little-endian 32-bit integers."""
    packed = array("i", days)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def unpack_days(blob: bytes | memoryview | None) -> array[int]:
    packed = array("i")
    if blob:
        packed.frombytes(bytes(blob))
        if sys.byteorder == "big":
            packed.byteswap()
    return packed


def _maybe(at: datetime | str | None) -> datetime | None:
    return None if at is None else aware(at)


def _in(prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """``(:p0, :p1, ...)`` and its parameters (both dialects, any length > 0)."""
    params = {f"{prefix}{n}": v for n, v in enumerate(values)}
    return "(" + ", ".join(f":{k}" for k in params) + ")", params


def _latest(direction: str) -> str:
    """Per contact, the latest interaction in ``direction`` over all its addresses:
    one index seek per address (the correlated MAX), then the largest per contact."""
    return (
        "SELECT contact_id, MAX(at) FROM (SELECT e.contact_id AS contact_id, "
        "(SELECT MAX(i.at) FROM interactions i WHERE i.address = e.address "
        f"AND i.direction = '{direction}') AS at FROM contact_emails e) AS per_address "
        "WHERE at IS NOT NULL GROUP BY contact_id"
    )


#: The directions ``interactions`` holds rows of.
DIRECTIONS = ("sent", "received")

#: ContactFacts field -> a statement giving (contact id, latest time) per contact.
LASTS: dict[str, str] = {
    "last_sent": _latest("sent"),
    "last_received": _latest("received"),
    "last_touch": "SELECT contact_id, MAX(at) FROM touches GROUP BY contact_id",
    # a meeting counts once it is over: its end (counts_from) at or before :now
    "last_met": (
        "SELECT contact_id, MAX(at) FROM (SELECT e.contact_id AS contact_id, "
        "(SELECT MAX(m.at) FROM calendar_meetings m WHERE m.address = e.address "
        "AND m.counts_from <= :now) AS at FROM contact_emails e) AS per_address "
        "WHERE at IS NOT NULL GROUP BY contact_id"
    ),
}


def _params(sql: str, now: datetime) -> dict[str, Any]:
    return {"now": now} if ":now" in sql else {}


def contacts(
    run: Run, names: Sequence[str] | None = None, now: datetime | None = None
) -> list[ContactFacts]:
    """Tracked contacts (all, or those ``names``, case-insensitive) with their last
    sent / received / touch times and their last meeting over at ``now`` (default:
    the present), ordered by name."""
    now = now or datetime.now(UTC)
    where: str = ""
    params: dict[str, Any] = {}
    if names is not None:
        if not names:
            return []
        placeholders, params = _in("n", [n.strip().lower() for n in names])
        where = f" WHERE lower(name) IN {placeholders}"
    found = run(
        "SELECT id, name, cadence_seconds, snoozed_until, created_at FROM contacts"
        f"{where} ORDER BY name",
        params,
    )
    if not found:
        return []
    emails: dict[int, list[str]] = {}
    for contact_id, display in run(
        "SELECT contact_id, display FROM contact_emails ORDER BY id", {}
    ):
        emails.setdefault(contact_id, []).append(display)
    tags: dict[int, list[str]] = {}
    for contact_id, tag in run("SELECT contact_id, tag FROM contact_tags ORDER BY tag", {}):
        tags.setdefault(contact_id, []).append(tag)
    lasts: dict[str, dict[int, Any]] = {
        field: dict(run(sql, _params(sql, now))) for field, sql in LASTS.items()
    }
    return [
        ContactFacts(
            id=contact_id,
            name=name,
            emails=emails.get(contact_id, []),
            cadence=stored_cadence(cadence),
            tags=tags.get(contact_id, []),
            snoozed_until=_maybe(snoozed),
            created_at=aware(created),
            **{field: _maybe(by_id.get(contact_id)) for field, by_id in lasts.items()},
        )
        for contact_id, name, cadence, snoozed, created in found
    ]


def reply_subjects(run: Run, contact_ids: Sequence[int]) -> dict[int, str]:
    """Per contact, the subject of the latest mail they sent me (when one is stored):
    one indexed lookup per address, in chunks, for the subjects of many replies owed."""
    found: dict[int, tuple[datetime, str]] = {}
    ids = sorted(set(contact_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        params = {f"c{n}": contact_id for n, contact_id in enumerate(chunk)}
        rows = run(
            "SELECT e.contact_id, i.at, i.subject FROM contact_emails e "
            "JOIN interactions i ON i.address = e.address AND i.direction = 'received' "
            "AND i.at = (SELECT max(j.at) FROM interactions j "
            "WHERE j.address = e.address AND j.direction = 'received') "
            f"WHERE e.contact_id IN ({', '.join(':' + k for k in params)})",
            params,
        )
        for contact_id, at, subject in rows:
            when = aware(at)
            if subject and (contact_id not in found or when > found[contact_id][0]):
                found[contact_id] = (when, subject)
    return {contact_id: subject for contact_id, (_, subject) in found.items()}


def evidence(
    run: Run, name: str, limit: int, now: datetime | None = None
) -> tuple[str, list[str], list[dict[str, Any]]]:
    """The latest interactions, meetings (over at ``now``, default the present) and
    touches behind a contact's dates, newest first, one entry per message or
    meeting occurrence. Reads that contact's rows only, newest first from the
    index, and stops after ``limit`` distinct messages' worth."""
    now = now or datetime.now(UTC)
    found = run(
        "SELECT id, name FROM contacts WHERE lower(name) = :name", {"name": name.strip().lower()}
    )
    if not found:
        raise no_contact(name, (n for (n,) in run("SELECT name FROM contacts", {})))
    contact_id, stored = found[0]
    rows = run(
        "SELECT address, display FROM contact_emails WHERE contact_id = :id ORDER BY id",
        {"id": contact_id},
    )
    addresses, displays = [a for a, _ in rows], [d for _, d in rows]
    entries: list[dict[str, Any]] = [
        {
            "at": aware(at),
            "direction": "touch",
            "address": None,
            "account": None,
            "folder": None,
            "message_id": None,
            "subject": note,
        }
        for at, note in run(
            "SELECT at, note FROM touches WHERE contact_id = :id ORDER BY at DESC, id DESC "
            "LIMIT :limit",
            {"id": contact_id, "limit": limit},
        )
    ]
    seen: set[str] = set()
    if addresses:
        # newest first per (address, direction): each part reads the index backwards
        # and stops after ``wanted`` rows, whatever that address's history holds
        wanted = limit * 4 + 10
        parts, params = [], {"limit": wanted}
        for n, address in enumerate(addresses):
            params[f"a{n}"] = address
            for direction in DIRECTIONS:
                parts.append(
                    "SELECT * FROM (SELECT id, at, direction, address, account, folder, "
                    "message_id, subject, dedupe_key FROM interactions "
                    f"WHERE address = :a{n} AND direction = '{direction}' "
                    "ORDER BY at DESC, id DESC LIMIT :limit) AS part"
                )
        rows = [
            r[1:]
            for r in sorted(
                run(" UNION ALL ".join(parts), params),
                key=lambda r: (aware(r[1]), r[0]),
                reverse=True,
            )[:wanted]
        ]
        for at, direction, address, account, folder, message_id, subject, key in rows:
            if key in seen:
                continue
            seen.add(key)
            entries.append(
                {
                    "at": aware(at),
                    "direction": direction,
                    "address": address,
                    "account": account,
                    "folder": folder,
                    "message_id": message_id,
                    "subject": subject,
                }
            )
        entries += _meetings(run, addresses, limit, now)
    entries.sort(key=lambda e: e["at"], reverse=True)
    return stored, displays, entries[:limit]


def _meetings(
    run: Run, addresses: Sequence[str], limit: int, now: datetime
) -> list[dict[str, Any]]:
    """The latest meetings over at ``now`` with these addresses, one per occurrence
    (the same one in several calendars or accounts counts once)."""
    placeholders, params = _in("a", addresses)
    params.update(now=now, limit=limit * 4 + 10)
    seen: set[str] = set()
    entries: list[dict[str, Any]] = []
    for at, address, account, folder, uid, subject, key in run(
        "SELECT at, address, account, folder, message_id, subject, dedupe_key "
        f"FROM calendar_meetings WHERE address IN {placeholders} AND counts_from <= :now "
        "ORDER BY at DESC, id DESC LIMIT :limit",
        params,
    ):
        if key in seen:
            continue
        seen.add(key)
        entries.append(
            {
                "at": aware(at),
                "direction": "met",
                "address": address,
                "account": account,
                "folder": folder,
                "message_id": uid,
                "subject": subject,
            }
        )
        if len(entries) >= limit:
            break
    return entries


def load_state(run: Run, account: str) -> dict[str, dict[str, Any]]:
    """The account's connector state per scope (a folder, Gmail's history)."""
    rows = run("SELECT scope, state FROM sync_state WHERE account = :account", {"account": account})
    return {
        scope: dict(json.loads(state) if isinstance(state, str | bytes) else state)
        for scope, state in rows
    }


def polls(run: Run) -> dict[str, tuple[datetime, datetime | None]]:
    """Per account: when a poll last succeeded, and when one last found new mail."""
    return {
        account: (aware(ok), _maybe(new))
        for account, ok, new in run(
            "SELECT account, last_ok_at, last_new_at FROM account_polls", {}
        )
    }


#: Rows from before channels existed, and alerts the email digest listed: told everywhere.
EVERYWHERE = ("", "digest")


def told(run: Run, channel: str) -> dict[tuple[int, str], Told]:
    """What ``channel`` was told last per (contact id, alert kind): the newest of
    its own rows and the shared ones (:data:`EVERYWHERE`)."""
    found: dict[tuple[int, str], Told] = {}
    for contact_id, kind, basis, at in run(
        "SELECT contact_id, kind, basis, notified_at FROM notified_alerts "
        "WHERE channel IN (:own, :old, :digest)",
        {"own": channel, "old": EVERYWHERE[0], "digest": EVERYWHERE[1]},
    ):
        entry = Told(basis=aware(basis), at=aware(at))
        key = (contact_id, kind)
        if key not in found or entry.at > found[key].at:
            found[key] = entry
    return found


def sent_on(run: Run, channel: str, day: date) -> int:
    """How many notifications ``channel`` sent on the local ``day`` (``notify_budget``)."""
    rows = run("SELECT day, sent FROM notify_budget WHERE channel = :c", {"c": channel})
    return int(rows[0][1]) if rows and rows[0][0] == day.isoformat() else 0


def digest_sent(run: Run) -> datetime | None:
    """When the email digest last went out (None: never)."""
    rows = run("SELECT last_sent FROM digest_state WHERE name = :n", {"n": "digest"})
    return aware(rows[0][0]) if rows else None


def leases(run: Run) -> list[Lease]:
    """Every account's lease: which daemon polls it, until when."""
    return [
        Lease(account, holder, aware(expires), aware(acquired), _maybe(polled))
        for account, holder, expires, acquired, polled in run(
            "SELECT account, holder, expires_at, acquired_at, last_poll_at "
            "FROM account_leases ORDER BY account",
            {},
        )
    ]


def correspondents(
    run: Run,
    addresses: Sequence[str] | None = None,
    details: bool = True,
    now: datetime | None = None,
) -> list[Correspondent]:
    """Untracked addresses with at least one sent AND one received interaction,
    from the per-address summary (``syncd.store.summary``): one row per
    address, whatever the number of interactions behind it.

    ``addresses`` restricts them; without ``details`` each row carries its
    conversation count but no days and no names (enough to rank them all).

    A meeting over at ``now`` (default: the present) is a two-way exchange:
    an untracked address met is a correspondent even without mail both ways;
    its row then carries ``met``, the meeting days among its days, and no
    conversation count (it is made from the days)."""
    where: str = ""
    params: dict[str, Any] = {}
    if addresses is not None:
        if not addresses:
            return []
        placeholders, params = _in("a", addresses)
        where = f" AND s.address IN {placeholders}"
    two_way = (
        "s.sent > 0 AND s.received > 0 AND s.address NOT IN (SELECT address FROM contact_emails)"
        + where
    )
    found: dict[str, Correspondent] = {}
    for address, sent, received, first, last, days, count in run(
        "SELECT s.address, s.sent, s.received, s.first_at, s.last_at, "
        f"{'s.days' if details else 'NULL'}, s.conversations FROM address_summary s "
        f"WHERE {two_way} ORDER BY s.address",
        params,
    ):
        found[address] = Correspondent(
            address,
            int(sent),
            int(received),
            aware(first),
            aware(last),
            [date.fromordinal(d) for d in unpack_days(days)] if details else [],
            {},
            int(count),
        )
    if found and details:
        for address, name, count in run(
            "SELECT n.address, n.name, n.count FROM address_names n "
            f"JOIN address_summary s ON s.address = n.address WHERE {two_way}",
            params,
        ):
            found[address].names[name] = int(count)
    _add_meetings(run, found, addresses, details, now or datetime.now(UTC))
    return list(found.values())


_CHUNK = 500  # addresses per IN (...) list: far below every dialect's parameter limit


def _add_meetings(
    run: Run,
    found: dict[str, Correspondent],
    addresses: Sequence[str] | None,
    details: bool,
    now: datetime,
) -> None:
    """Fold the meetings over at ``now`` with untracked addresses into ``found``."""
    where, params = "", {"now": now}
    if addresses is not None:
        placeholders, more = _in("a", addresses)
        where = f" AND address IN {placeholders}"
        params.update(more)
    untracked = (
        "counts_from <= :now AND address NOT IN (SELECT address FROM contact_emails)" + where
    )
    met = {
        address: (int(n), aware(first), aware(last))
        for address, n, first, last in run(
            "SELECT address, COUNT(DISTINCT dedupe_key), MIN(at), MAX(at) "
            f"FROM calendar_meetings WHERE {untracked} GROUP BY address",
            params,
        )
    }
    listed = sorted(met)
    for start in range(0, len(listed), _CHUNK):
        chunk = listed[start : start + _CHUNK]
        placeholders, part = _in("c", chunk)
        summary = {
            row[0]: row[1:]
            for row in run(
                "SELECT address, sent, received, first_at, last_at, days FROM address_summary "
                f"WHERE address IN {placeholders}",
                part,
            )
        }
        days: dict[str, set[date]] = {}
        for address, at in run(
            f"SELECT address, at FROM calendar_meetings WHERE address IN {placeholders} "
            "AND counts_from <= :now",
            {**part, "now": now},
        ):
            days.setdefault(address, set()).add(aware(at).date())
        created: list[str] = []  # not two-way by mail: their mail names are not loaded yet
        for address in chunk:
            n, first, last = met[address]
            row = found.get(address)
            if row is None:
                sent, received, s_first, s_last = 0, 0, first, last
                mail_days: list[date] = []
                if address in summary:
                    sent, received, f_at, l_at, blob = summary[address]
                    s_first, s_last = aware(f_at), aware(l_at)
                    mail_days = [date.fromordinal(d) for d in unpack_days(blob)]
                created.append(address)
                row = found[address] = Correspondent(
                    address, int(sent), int(received), s_first, s_last, mail_days, {}
                )
            elif not row.days and address in summary:
                row.days = [date.fromordinal(d) for d in unpack_days(summary[address][4])]
            row.met = n
            row.first, row.last = min(row.first, first), max(row.last, last)
            row.days = sorted(set(row.days) | days.get(address, set()))
            row.conversations = None  # the meeting days change them: made from the days
        if details:
            for address, name, count in run(
                "SELECT address, name, COUNT(DISTINCT dedupe_key) FROM calendar_meetings "
                f"WHERE address IN {placeholders} AND counts_from <= :now AND name <> '' "
                "GROUP BY address, name",
                {**part, "now": now},
            ):
                names = found[address].names
                names[name] = names.get(name, 0) + int(count)
            if created:
                placeholders, part = _in("f", created)
                for address, name, count in run(
                    "SELECT address, name, count FROM address_names "
                    f"WHERE address IN {placeholders}",
                    part,
                ):
                    names = found[address].names
                    names[name] = names.get(name, 0) + int(count)
