"""The database behind one facade, :class:`Store`; one module per job.

* ``database``: the URL, the SQLite file's modes, the engine, migrations,
  and the one place that knows the SQL dialect;
* ``sync_writes``: connector state and the atomic, idempotent ``save_batch``
  (SQLAlchemy Core, no ORM on the sync path);
* ``contacts``: adding, editing, merging contacts (the ORM);
* ``queries``: what the read commands ask (plain SQL through a ``Run``), meetings
  among them;
* ``summary``: the per-address summary ``suggest`` reads, kept by each batch;
* ``alert_state``: which alert was told when;
* ``calendar``: calendar resources and their evaluated meetings
  (docs/calendar-design.md), written by calendar batches.

Reading a SQLite file whose schema is current goes through the standard
library's ``sqlite3`` (``database.sqlite_reader``) and never imports
SQLAlchemy, whose engine is opened on the first write; everything else goes
through the engine. ``contacts()`` is cached against ``store_version``, a
counter every write bumps in its transaction: a daemon's lapse check after a
poll that stored nothing costs one one-row query.

Every write goes through :class:`Store`. Only this package (with
``syncd.schema``, ``syncd.models`` and the migrations) knows SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from syncd.errors import AlreadyExists, Invalid, NotFound, StoreError, Unavailable
from syncd.model import Alert, ContactFacts, Correspondent, Draft, Interaction, Merged, Told
from syncd.store import queries
from syncd.store.database import SCHEMA_HEAD, dialect_insert, open_engine, sqlite_reader

if TYPE_CHECKING:  # SQLAlchemy is imported on first use; the ORM where contacts are managed
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from connectors.base import Batch
    from syncd.store import calendar

__all__ = [
    "SCHEMA_HEAD",
    "AlreadyExists",
    "Invalid",
    "NotFound",
    "Store",
    "StoreError",
    "Unavailable",
    "open_store",
]


def _bind(params: dict[str, Any], sqlite: bool) -> dict[str, Any]:
    """Parameters as the columns store them: an aware time as naive UTC
    (``syncd.schema.UTCDateTime``), on SQLite as the text SQLAlchemy writes
    there, so that comparisons in plain SQL order as the stored values do."""
    if not any(isinstance(v, datetime) for v in params.values()):
        return params
    bound = dict(params)
    for key, value in params.items():
        if isinstance(value, datetime):
            naive = value.astimezone(UTC).replace(tzinfo=None)
            bound[key] = naive.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else naive
    return bound


class Store:
    """The open database. Create with :func:`open_store`."""

    def __init__(
        self,
        engine: Engine | None = None,
        *,
        url: str | None = None,
        reader: sqlite3.Connection | None = None,
    ) -> None:
        if engine is None and url is None:
            raise ValueError("Store needs an engine or a URL")
        self._engine, self._url, self._reader = engine, url, reader
        self._sessions: sessionmaker[Session] | None = None
        self._cached: tuple[int, list[ContactFacts]] | None = None

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, opened (and the schema migrated) on first use."""
        if self._engine is None:
            assert self._url is not None
            self._engine = open_engine(self._url)
        return self._engine

    @property
    def _insert(self) -> Any:
        return dialect_insert(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session whose work commits on success and rolls back on any error."""
        if self._sessions is None:
            from sqlalchemy.orm import sessionmaker

            self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        """A session for a change the read commands see: bumps ``store_version``."""
        from syncd.store import sync_writes

        with self.session() as s:
            yield s
            s.flush()
            sync_writes.bump_version(s.connection())

    @contextmanager
    def _read(self) -> Iterator[queries.Run]:
        """One read transaction, as a :data:`queries.Run`."""
        if self._reader is not None:
            conn = self._reader
            conn.execute("BEGIN")
            try:
                yield lambda sql, params: conn.execute(sql, _bind(params, True)).fetchall()
            finally:
                conn.execute("COMMIT")
            return
        from sqlalchemy import text

        sqlite = self.engine.dialect.name == "sqlite"
        with self.engine.connect() as sa_conn, sa_conn.begin():
            yield lambda sql, params: [
                tuple(r) for r in sa_conn.execute(text(sql), _bind(params, sqlite))
            ]

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._engine is not None:
            self._engine.dispose()

    # --- sync --------------------------------------------------------------

    def load_state(self, account: str) -> dict[str, dict[str, Any]]:
        from syncd.store import sync_writes

        return sync_writes.load_state(self.engine, account)

    def save_batch(
        self,
        account: str,
        found: Sequence[Interaction],
        state: dict[str, dict[str, Any]],
        now: datetime,
    ) -> int:
        """Store interactions and the connector state together; returns how many were new."""
        from syncd.store import sync_writes

        return sync_writes.save_batch(self.engine, self._insert, account, found, state, now)

    def last_synced(self, account: str) -> datetime | None:
        from syncd.store import sync_writes

        return sync_writes.last_synced(self.engine, account)

    # --- calendars ---------------------------------------------------------

    def save_calendar_batch(
        self,
        account: str,
        batch: Batch,
        *,
        me: frozenset[str],
        tz: tzinfo,
        max_participants: int,
        keep_subjects: bool,
        now: datetime,
    ) -> calendar.Saved:
        """Store a calendar batch (removed, then events, then its state) in one
        transaction; see :mod:`syncd.store.calendar`."""
        from syncd.store import calendar

        rules = calendar.Rules(me, tz, max_participants, keep_subjects)
        return calendar.save_calendar_batch(self.engine, self._insert, account, batch, rules, now)

    def refresh_calendar(
        self,
        account: str,
        *,
        me: frozenset[str],
        tz: tzinfo,
        max_participants: int,
        keep_subjects: bool,
        now: datetime,
        touched: set[str] | frozenset[str] = frozenset(),
    ) -> calendar.Saved:
        """After an account's pass: evaluate again what runs out or what the rules
        changed for, and count the meetings that ended since the last pass."""
        from syncd.store import calendar

        rules = calendar.Rules(me, tz, max_participants, keep_subjects)
        return calendar.refresh_calendar(
            self.engine, self._insert, account, rules, now, touched=touched
        )

    # --- contacts ----------------------------------------------------------

    def add_contact(
        self,
        name: str,
        emails: Sequence[str],
        cadence: timedelta | None,
        tags: Sequence[str],
        now: datetime,
    ) -> None:
        from syncd.store import contacts

        with self._writing() as s:
            contacts.add(s, name, emails, cadence, tags, now)

    def edit_contact(
        self,
        name: str,
        *,
        new_name: str | None = None,
        add_emails: Sequence[str] = (),
        remove_emails: Sequence[str] = (),
        cadence: timedelta | None = None,
        clear_cadence: bool = False,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
    ) -> None:
        from syncd.store import contacts

        with self._writing() as s:
            contacts.edit(
                s,
                name,
                new_name=new_name,
                add_emails=add_emails,
                remove_emails=remove_emails,
                cadence=cadence,
                clear_cadence=clear_cadence,
                add_tags=add_tags,
                remove_tags=remove_tags,
            )

    def remove_contact(self, name: str) -> None:
        from syncd.store import contacts

        with self._writing() as s:
            s.delete(contacts.get(s, name))

    def add_touch(self, name: str, at: datetime, note: str | None) -> None:
        from syncd import models
        from syncd.store import contacts

        with self._writing() as s:
            contact = contacts.get(s, name)  # held: the session keeps only weak references
            contact.touches.append(models.Touch(at=at, note=note))

    def snooze(self, name: str, until: datetime | None) -> str:
        """Snooze ``name`` until ``until`` (None ends it); returns the stored name."""
        from syncd.store import contacts

        with self._writing() as s:
            contact = contacts.get(s, name)
            contact.snoozed_until = until
            return contact.name

    def merge_contacts(
        self,
        drafts: Sequence[Draft],
        now: datetime,
        *,
        tags: Sequence[str] = (),
        cadence: timedelta | None = None,
        by_name: bool = True,
    ) -> list[Merged]:
        """Add or merge many contacts in one transaction; one :class:`Merged` per draft.

        A draft joins the contact that owns one of its addresses, else (with
        ``by_name``) the contact of the same name, else it is added. Joining
        adds the draft's other addresses and ``tags``, and ``cadence`` where
        the contact has none of its own. A draft whose addresses belong to two
        different contacts is skipped. Without ``by_name`` a name already
        taken gets the first address appended, so nothing is merged by name.
        """
        from syncd.store import contacts

        results = []
        with self._writing() as s:
            named = contacts.by_name_index(s)
            for draft in drafts:
                results.append(contacts.merge(s, draft, now, tags, cadence, by_name, named))
                s.flush()
        return results

    # --- queries -----------------------------------------------------------

    def contacts(
        self, names: Sequence[str] | None = None, now: datetime | None = None
    ) -> list[ContactFacts]:
        """Tracked contacts with their last sent / received / touch times and their
        last meeting over at ``now`` (default: the present).

        All of them are cached against ``store_version``: asked again with
        nothing written since (by any process), only the counter is read. A
        meeting that ends later counts from the next calendar pass (which
        writes)."""
        with self._read() as run:
            version = int(run("SELECT version FROM store_version", {})[0][0])
            cacheable = names is None and now is None
            if cacheable and self._cached is not None and self._cached[0] == version:
                return list(self._cached[1])
            found = queries.contacts(run, names, now)
        if cacheable:
            self._cached = (version, found)
        return list(found)

    def evidence(
        self, name: str, limit: int, now: datetime | None = None
    ) -> tuple[str, list[str], list[dict[str, Any]]]:
        """The stored name, addresses and latest ``limit`` interactions of ``name``,
        meetings over at ``now`` (default: the present) among them."""
        with self._read() as run:
            return queries.evidence(run, name, limit, now)

    def correspondents(
        self,
        addresses: Sequence[str] | None = None,
        *,
        details: bool = True,
        now: datetime | None = None,
    ) -> list[Correspondent]:
        """Untracked two-way correspondents (all, or those ``addresses``) from the
        per-address summary, a meeting over at ``now`` counting as a two-way
        exchange; without ``details``, counts only (no days, no names)."""
        with self._read() as run:
            return queries.correspondents(run, addresses, details, now)

    def rebuild_summary(self) -> None:
        """Recompute the per-address summary from ``interactions`` (after a bulk load
        that bypassed :meth:`save_batch`)."""
        from syncd.store import summary, sync_writes

        with self.engine.begin() as conn:
            summary.rebuild(conn)
            sync_writes.bump_version(conn)

    # --- alert state -------------------------------------------------------

    def told(self) -> dict[tuple[int, str], Told]:
        """What was told last per (contact id, alert kind)."""
        with self._read() as run:
            return queries.told(run)

    def record_told(self, alerts: Iterable[Alert], at: datetime) -> None:
        """Remember that these alerts were delivered at ``at`` (one transaction)."""
        from syncd.store import alert_state

        with self.session() as s:
            alert_state.record(s, alerts, at)


def open_store(url: str) -> Store:
    """Open (creating and migrating as needed) the database at ``url``.

    An existing SQLite file at the current schema is opened with ``sqlite3``
    alone; the engine follows on the first write."""
    reader = sqlite_reader(url)
    if reader is not None:
        return Store(url=url, reader=reader)
    return Store(open_engine(url))
