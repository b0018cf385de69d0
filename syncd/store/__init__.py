"""The database behind one facade, :class:`Store`; one module per job.

* ``database``: the URL, the SQLite file's modes, the engine, migrations,
  and the one place that knows the SQL dialect;
* ``sync_writes``: connector state and the atomic, idempotent ``save_batch``
  (SQLAlchemy Core, no ORM on the sync path);
* ``contacts``: adding, editing, merging contacts (the ORM);
* ``queries``: what the read commands ask (plain SQL through a ``Run``), meetings
  among them;
* ``summary``: the per-address summary ``suggest`` reads, kept by each batch;
* ``alert_state``: which alert was told on which channel and when, the
  daily budget, the digest's last send (their reads are in ``queries``).
* ``calendar``: calendar resources and their evaluated meetings
  (docs/calendar-design.md), written by calendar batches.
* ``leases``: which daemon polls which account (several daemons, one database);
* ``claims``: which daemon tells an alert (each alert told once);
* ``copying``: everything copied into another, empty database, and the counts.

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

import os
import socket
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from syncd.errors import AlreadyExists, Invalid, NotFound, StoreError, Unavailable
from syncd.model import (
    Alert,
    ContactFacts,
    Correspondent,
    Draft,
    Interaction,
    Lease,
    Merged,
    Told,
)
from syncd.store import queries
from syncd.store.database import (
    SCHEMA_HEAD,
    PostgresReader,
    dialect_insert,
    open_engine,
    postgres_reader,
    sqlite_reader,
    sqlite_time,
)

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
    "new_holder",
    "open_store",
]


def new_holder() -> str:
    """A lease and claim holder name for this process: ``hostname:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _bind(params: dict[str, Any], sqlite: bool) -> dict[str, Any]:
    """Parameters as the columns store them: an aware time as naive UTC
    (``syncd.schema.UTCDateTime``), on SQLite as the text SQLAlchemy writes
    there, so that comparisons in plain SQL order as the stored values do."""
    if not any(isinstance(v, datetime) for v in params.values()):
        return params
    bound = dict(params)
    for key, value in params.items():
        if isinstance(value, datetime):
            bound[key] = (
                sqlite_time(value) if sqlite else value.astimezone(UTC).replace(tzinfo=None)
            )
    return bound


class Store:
    """The open database. Create with :func:`open_store`."""

    def __init__(
        self,
        engine: Engine | None = None,
        *,
        url: str | None = None,
        reader: sqlite3.Connection | PostgresReader | None = None,
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
            sqlite = isinstance(conn, sqlite3.Connection)
            conn.execute("BEGIN")
            try:
                yield lambda sql, params: conn.execute(sql, _bind(params, sqlite)).fetchall()
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
        with self._read() as run:
            return queries.load_state(run, account)

    def save_batch(
        self,
        account: str,
        found: Sequence[Interaction],
        state: dict[str, dict[str, Any]],
        now: datetime,
    ) -> int:
        """Store interactions and the connector state together; returns how many were new.

        Nothing found and the SQLite file current: the state goes through the stdlib
        connection (``quiet_writes``), so a pass that finds nothing needs no SQLAlchemy."""
        if not found and isinstance(self._reader, sqlite3.Connection) and self._engine is None:
            from syncd.store import quiet_writes

            quiet_writes.save_state(self._reader, account, state, now)
            return 0
        from syncd.store import sync_writes

        return sync_writes.save_batch(self.engine, self._insert, account, found, state, now)

    def record_poll(self, account: str, at: datetime, new: int) -> None:
        """Note a successful poll of ``account`` (even one that found nothing); with
        ``new`` > 0 it is also the account's last new mail."""
        if not new and isinstance(self._reader, sqlite3.Connection) and self._engine is None:
            from syncd.store import quiet_writes

            quiet_writes.record_poll(self._reader, account, at)
            return
        from syncd.store import sync_writes

        sync_writes.record_poll(self.engine, self._insert, account, at, new)

    def polls(self) -> dict[str, tuple[datetime, datetime | None]]:
        """Per account: the last successful poll and the last poll that found mail."""
        with self._read() as run:
            return queries.polls(run)

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
    ) -> str:
        """Track a new contact; returns its name as stored."""
        from syncd.store import contacts

        with self._writing() as s:
            return contacts.add(s, name, emails, cadence, tags, now)

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
    ) -> str:
        """Change a contact; returns its name as stored (after a rename)."""
        from syncd.store import contacts

        with self._writing() as s:
            return contacts.edit(
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

    def remove_contact(self, name: str) -> str:
        """Stop tracking a contact; returns its name as it was stored."""
        from syncd.store import contacts

        with self._writing() as s:
            contact = contacts.get(s, name)
            s.delete(contact)
            return contact.name

    def add_touch(self, name: str, at: datetime, note: str | None) -> str:
        """Record a manual touch; returns the contact's stored name."""
        from syncd import models
        from syncd.store import contacts

        with self._writing() as s:
            contact = contacts.get(s, name)  # held: the session keeps only weak references
            contact.touches.append(models.Touch(at=at, note=note))
            return contact.name

    def undo_touch(self, name: str) -> tuple[str, datetime, str | None]:
        """Remove the manual touch recorded last for ``name``; returns the stored name
        and that touch's time and note (NotFound when there is none)."""
        from syncd.store import contacts

        with self._writing() as s:
            return contacts.undo_touch(s, name)

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
            index = contacts.merge_index(s)
            for draft in drafts:
                results.append(contacts.merge(s, draft, now, tags, cadence, by_name, index))
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

    def reply_subjects(self, contact_ids: Sequence[int]) -> dict[int, str]:
        """Per contact, the subject of their latest mail to me, where one is stored."""
        with self._read() as run:
            return queries.reply_subjects(run, contact_ids)

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

    def told(self, channel: str) -> dict[tuple[int, str], Told]:
        """What ``channel`` was told last per (contact id, alert kind)."""
        with self._read() as run:
            return queries.told(run, channel)

    def record_told(
        self, alerts: Iterable[Alert], at: datetime, channel: str, day: date | None = None
    ) -> None:
        """``channel`` delivered these alerts at ``at`` (one transaction); with ``day``
        (local), that delivery counts as one notification of that day's budget."""
        from syncd.store import alert_state

        with self.session() as s:
            alert_state.record(s, alerts, at, channel)
            if day is not None:
                alert_state.count_sent(s, channel, day)

    def sent_on(self, channel: str, day: date) -> int:
        """How many notifications ``channel`` sent on the local ``day``."""
        with self._read() as run:
            return queries.sent_on(run, channel, day)

    def digest_sent(self) -> datetime | None:
        """When the email digest last went out (None: never)."""
        with self._read() as run:
            return queries.digest_sent(run)

    def record_digest(self, at: datetime, alerts: Iterable[Alert]) -> None:
        """The digest went out at ``at``; the alerts it listed count as told everywhere."""
        from syncd.store import alert_state

        with self.session() as s:
            alert_state.record_digest(s, at, alerts)

    # --- several daemons on one database -------------------------------------

    def acquire_lease(self, account: str, holder: str, ttl: timedelta, now: datetime) -> bool:
        """Take (or renew) the lease on polling ``account``; False while another holds it."""
        from syncd.store import leases

        return leases.acquire(self.engine, self._insert, account, holder, ttl, now)

    def renew_lease(
        self, account: str, holder: str, ttl: timedelta, now: datetime, *, polled: bool = False
    ) -> bool:
        """Extend our lease (``polled``: a poll just finished); False if it was taken over."""
        from syncd.store import leases

        return leases.renew(self.engine, account, holder, ttl, now, polled=polled)

    def release_lease(self, account: str, holder: str) -> bool:
        """Give our lease up (a daemon stopping); False if it was not ours any more."""
        from syncd.store import leases

        return leases.release(self.engine, account, holder)

    def leases(self) -> list[Lease]:
        """Every account's lease: who polls it, until when."""
        with self._read() as run:
            return queries.leases(run)

    def claim_alert(
        self,
        alert: Alert,
        channel: str,
        holder: str,
        now: datetime,
        *,
        told_at: datetime | None = None,
    ) -> bool:
        """Claim ``alert`` on ``channel`` before delivering it; True when this caller won.
        ``told_at``: when the caller's told-state says it was last told (a claim no
        later than that is over and may be taken)."""
        from syncd.store import claims

        return claims.claim(self.engine, self._insert, alert, channel, holder, now, told_at)

    def release_claim(self, alert: Alert, channel: str, holder: str) -> None:
        """Give the claim up after a failed delivery (the next check tries again)."""
        from syncd.store import claims

        claims.release(self.engine, alert, channel, holder)

    # --- the database as a whole ------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        from syncd.store import copying

        return copying.counts(self.engine)

    def copy_into(
        self, target: Store, progress: Callable[[str, int, int], None] | None = None
    ) -> dict[str, int]:
        """Copy everything into ``target``, which must be empty; the rows copied per
        table (counts checked before the target commits; this database only read)."""
        from syncd.store import copying

        return copying.copy(self.engine, target.engine, progress)

    def schema_version(self) -> str | None:
        from syncd.store.database import schema_version

        with self.engine.connect() as conn:
            return schema_version(conn)


def open_store(url: str) -> Store:
    """Open (creating and migrating as needed) the database at ``url``.

    An existing SQLite file at the current schema is opened with ``sqlite3``
    alone; the engine follows on the first write."""
    reader: sqlite3.Connection | PostgresReader | None = sqlite_reader(url) or postgres_reader(url)
    if reader is not None:
        return Store(url=url, reader=reader)
    return Store(open_engine(url))
