"""The database behind one facade, :class:`Store`; one module per job.

* ``database``: the URL, the SQLite file's modes, the engine, migrations,
  and the one place that knows the SQL dialect;
* ``sync_writes``: connector state and the atomic, idempotent ``save_batch``
  (SQLAlchemy Core, no ORM on the sync path);
* ``contacts``: adding, editing, merging contacts (the ORM);
* ``queries``: what the read commands ask;
* ``alert_state``: which alert was told when;
* ``calendar``: calendar resources and their meetings (docs/calendar-design.md),
  and the reads that add meetings to the contacts' facts, evidence and
  correspondents.

Every write goes through :class:`Store`. Only this package (with
``syncd.schema``, ``syncd.models`` and the migrations) knows SQL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from syncd.errors import AlreadyExists, Invalid, NotFound, StoreError, Unavailable
from syncd.model import Alert, ContactFacts, Correspondent, Draft, Interaction, Merged, Told
from syncd.store import calendar, sync_writes
from syncd.store.database import SCHEMA_HEAD, dialect_insert, open_engine

if TYPE_CHECKING:  # the ORM is imported where contacts are managed, not on the sync path
    from sqlalchemy.orm import Session, sessionmaker

    from connectors.base import Batch

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


class Store:
    """The open database. Create with :func:`open_store`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = dialect_insert(engine)
        self._sessions: sessionmaker[Session] | None = None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session whose work commits on success and rolls back on any error."""
        if self._sessions is None:
            from sqlalchemy.orm import sessionmaker

            self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        with self._sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()

    # --- sync --------------------------------------------------------------

    def load_state(self, account: str) -> dict[str, dict[str, Any]]:
        return sync_writes.load_state(self.engine, account)

    def save_batch(
        self,
        account: str,
        found: Sequence[Interaction],
        state: dict[str, dict[str, Any]],
        now: datetime,
    ) -> int:
        """Store interactions and the connector state together; returns how many were new."""
        return sync_writes.save_batch(self.engine, self._insert, account, found, state, now)

    def last_synced(self, account: str) -> datetime | None:
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

        with self.session() as s:
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

        with self.session() as s:
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

        with self.session() as s:
            s.delete(contacts.get(s, name))

    def add_touch(self, name: str, at: datetime, note: str | None) -> None:
        from syncd import models
        from syncd.store import contacts

        with self.session() as s:
            contact = contacts.get(s, name)  # held: the session keeps only weak references
            contact.touches.append(models.Touch(at=at, note=note))

    def snooze(self, name: str, until: datetime | None) -> str:
        """Snooze ``name`` until ``until`` (None ends it); returns the stored name."""
        from syncd.store import contacts

        with self.session() as s:
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
        with self.session() as s:
            for draft in drafts:
                results.append(contacts.merge(s, draft, now, tags, cadence, by_name))
                s.flush()
        return results

    # --- queries -----------------------------------------------------------

    def contacts(
        self, names: Sequence[str] | None = None, now: datetime | None = None
    ) -> list[ContactFacts]:
        """Tracked contacts with their last sent / received / touch times, and their
        last meeting over at ``now`` (default: the present)."""
        from syncd.store import queries

        with self.session() as s:
            found = queries.contacts(s, names)
        with self.engine.connect() as conn:
            met = calendar.last_met(conn, now or datetime.now(UTC))
        return [dataclasses.replace(f, last_met=met[f.id]) if f.id in met else f for f in found]

    def evidence(
        self, name: str, limit: int, now: datetime | None = None
    ) -> tuple[str, list[str], list[dict[str, Any]]]:
        """The stored name, addresses and latest ``limit`` interactions of ``name``,
        meetings over at ``now`` among them."""
        from syncd.store import queries

        with self.session() as s:
            real_name, emails, entries = queries.evidence(s, name, limit)
        with self.engine.connect() as conn:
            addresses = calendar.addresses_of(conn, real_name)
            entries += calendar.evidence(conn, addresses, now or datetime.now(UTC), limit)
        entries.sort(key=lambda e: e["at"], reverse=True)
        return real_name, emails, entries[:limit]

    def correspondents(self, now: datetime | None = None) -> list[Correspondent]:
        """Untracked two-way correspondents, aggregated in SQL; a meeting over at
        ``now`` counts as a two-way exchange."""
        from syncd.store import queries

        with self.session() as s:
            found = queries.correspondents(s)
        with self.engine.connect() as conn:
            return calendar.with_meetings(conn, found, now or datetime.now(UTC))

    # --- alert state -------------------------------------------------------

    def told(self) -> dict[tuple[int, str], Told]:
        """What was told last per (contact id, alert kind)."""
        from syncd.store import alert_state

        with self.session() as s:
            return alert_state.load(s)

    def record_told(self, alerts: Iterable[Alert], at: datetime) -> None:
        """Remember that these alerts were delivered at ``at`` (one transaction)."""
        from syncd.store import alert_state

        with self.session() as s:
            alert_state.record(s, alerts, at)


def open_store(url: str) -> Store:
    """Open (creating and migrating as needed) the database at ``url``."""
    return Store(open_engine(url))
