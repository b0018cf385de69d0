"""The database tables, in SQLAlchemy Core. Schema changes go through Alembic
(``syncd/migrations``); a test checks the two agree.

* ``interactions``: what the rules found, for every correspondent (not only
  tracked contacts). Metadata only. One row per (message, address, direction):
  the unique dedupe key makes replaying a batch change nothing.
* ``sync_state``: per account and scope (an IMAP folder, Gmail's history), the
  connector's cursor. Written in the same transaction as the interactions.
* ``account_polls``: per account, when a poll last succeeded (even one that
  found nothing) and when one last found new interactions.
* ``contacts`` with their ``contact_emails`` and ``contact_tags``; ``touches``
  are interactions without mail (a coffee, a call).
* ``notified_alerts``: which alert was told about which contact, on which
  channel, and when; ``notify_budget`` how many notifications a channel sent
  on its latest day; ``digest_state`` when the email digest last went out.
* ``calendar_resources``, ``calendar_meetings``, ``calendar_rules``: calendar
  sources, stored as docs/calendar-design.md agrees (a resource's reduced
  iCalendar, its occurrences with the moment each counts from, and what the
  evaluations depended on).
* ``address_summary`` and ``address_names``: per address, what ``suggest``
  needs from ``interactions`` (counts each way, first and last time, the
  distinct days, the display names seen), kept up to date by every batch in
  its own transaction (``syncd.store.summary``).
* ``store_version``: one counter, bumped in the transaction of every write
  that changes what the read commands show, so the daemon's lapse check can
  tell in one query that nothing changed since the last.
* ``account_leases``: which daemon polls which account, until when (several
  daemons sharing one database poll each account once); ``alert_claims``:
  which daemon is telling an alert (an INSERT only one can win).

The sync path (``syncd.store``'s batch writes) needs only these Core tables;
the ORM classes in ``syncd.models`` are mapped onto them and imported only by
the commands that manage contacts, which keeps ``sync --once`` quick to start.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out (stored naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _contact_id(**kw: Any) -> Column[int]:
    return Column("contact_id", ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False, **kw)


contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), unique=True, nullable=False),
    Column("cadence_seconds", Integer),  # None: the tag's or the default cadence
    Column("snoozed_until", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
)

contact_emails = Table(
    "contact_emails",
    metadata,
    Column("id", Integer, primary_key=True),
    _contact_id(),
    Column("address", String(320), unique=True, nullable=False),  # normalised
    Column("display", String(320), nullable=False),  # as the user typed it
)

contact_tags = Table(
    "contact_tags",
    metadata,
    _contact_id(primary_key=True),
    Column("tag", String(100), primary_key=True),
)

touches = Table(
    "touches",
    metadata,
    Column("id", Integer, primary_key=True),
    _contact_id(index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("note", Text),
)

interactions = Table(
    "interactions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("address", String(320), nullable=False),  # normalised
    Column("name", String(200), nullable=False, default=""),  # display name seen
    Column("direction", String(10), nullable=False),  # "sent" | "received"
    Column("at", UTCDateTime, nullable=False),
    Column("account", String(200), nullable=False),
    Column("folder", String(500), nullable=False),
    Column("message_id", String(998)),
    Column("subject", String(500)),
    Column("dedupe_key", String(998), nullable=False),
    UniqueConstraint("dedupe_key", "address", "direction"),
    Index("ix_interactions_address_direction_at", "address", "direction", "at"),
)

sync_state = Table(
    "sync_state",
    metadata,
    Column("account", String(200), primary_key=True),
    Column("scope", String(500), primary_key=True),
    Column("state", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

account_polls = Table(
    "account_polls",
    metadata,
    Column("account", String(200), primary_key=True),
    Column("last_ok_at", UTCDateTime, nullable=False),
    Column("last_new_at", UTCDateTime, nullable=True),
)

notified_alerts = Table(
    "notified_alerts",
    metadata,
    _contact_id(primary_key=True),
    Column("kind", String(10), primary_key=True),  # "lapse" | "reply"
    # "desktop", "push:<hash>", ... ; "" for rows from before channels; "digest"
    Column("channel", String(100), primary_key=True),
    Column("basis", UTCDateTime, nullable=False),  # the contact time the alert was about
    Column("notified_at", UTCDateTime, nullable=False),
)

notify_budget = Table(
    "notify_budget",
    metadata,
    Column("channel", String(100), primary_key=True),
    Column("day", String(10), nullable=False),  # local date, ISO
    Column("sent", Integer, nullable=False),  # notifications sent on that day
)

digest_state = Table(
    "digest_state",
    metadata,
    Column("name", String(50), primary_key=True),  # "digest"
    Column("last_sent", UTCDateTime, nullable=False),
)

address_summary = Table(
    "address_summary",
    metadata,
    Column("address", String(320), primary_key=True),  # normalised, tracked or not
    Column("sent", Integer, nullable=False),  # distinct messages I sent them
    Column("received", Integer, nullable=False),  # distinct messages they sent me
    Column("first_at", UTCDateTime, nullable=False),
    Column("last_at", UTCDateTime, nullable=False),
    Column("days", LargeBinary, nullable=False),  # sorted distinct UTC day ordinals, int32 LE
    Column("conversations", Integer, nullable=False),  # runs of days (syncd.suggest.EPISODE_GAP)
)

address_names = Table(
    "address_names",
    metadata,
    Column("address", String(320), primary_key=True),
    Column("name", String(200), primary_key=True),  # a display name seen ('' never stored)
    Column("count", Integer, nullable=False),  # in how many interactions
)

store_version = Table(
    "store_version",
    metadata,
    Column("id", Integer, primary_key=True),  # the one row, id 1
    Column("version", Integer, nullable=False),  # bumped by every write the readers see
)

# --- several daemons on one database (PostgreSQL) -----------------------------

account_leases = Table(
    "account_leases",
    metadata,
    Column("account", String(200), primary_key=True),
    Column("holder", Text, nullable=False),  # "hostname:pid", one per daemon process
    Column("expires_at", UTCDateTime, nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
    Column("last_poll_at", UTCDateTime),
)

alert_claims = Table(
    "alert_claims",
    metadata,
    _contact_id(),
    Column("kind", String(10), nullable=False),
    Column("basis", UTCDateTime, nullable=False),
    Column("channel", String(100), nullable=False, server_default="default"),
    Column("holder", Text, nullable=False),
    Column("claimed_at", UTCDateTime, nullable=False),
    UniqueConstraint("contact_id", "kind", "basis", "channel"),
)

# --- calendars (docs/calendar-design.md) -------------------------------------
# A calendar resource is stored reduced (metadata only: meetings.storable) with
# its evaluated occurrences, each counting from its end: reads filter on
# ``counts_from <= now``, so a meeting counts once it is over without a sync.

calendar_resources = Table(
    "calendar_resources",
    metadata,
    Column("account", String(200), primary_key=True),
    Column("href", String(1000), primary_key=True),  # EventRecord.href (no secret)
    Column("calendar", String(500), nullable=False),  # display name
    Column("uid", String(998), nullable=False),
    Column("etag", String(500)),
    Column("ical", LargeBinary, nullable=False),  # meetings.storable(...)
    Column("expanded_until", UTCDateTime),  # None: every occurrence is evaluated
)

calendar_meetings = Table(
    "calendar_meetings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account", String(200), nullable=False),
    Column("href", String(1000), nullable=False),
    Column("dedupe_key", String(998), nullable=False),  # "ev:<UID>/<RECURRENCE-ID UTC>"
    Column("address", String(320), nullable=False),  # normalised
    Column("name", String(200), nullable=False, default=""),
    Column("at", UTCDateTime, nullable=False),  # the occurrence's start
    Column("counts_from", UTCDateTime, nullable=False),  # the occurrence's end
    Column("subject", String(500)),  # only where subjects are kept
    Column("folder", String(500), nullable=False),  # the calendar's name
    Column("message_id", String(998)),  # the UID
    ForeignKeyConstraint(
        ["account", "href"],
        ["calendar_resources.account", "calendar_resources.href"],
        ondelete="CASCADE",
    ),
    UniqueConstraint("account", "href", "dedupe_key", "address"),
    Index("ix_calendar_meetings_address_counts_from_at", "address", "counts_from", "at"),
    # which occurrences already count, looked up per sync batch across accounts
    Index("ix_calendar_meetings_dedupe_key", "dedupe_key"),
)

calendar_rules = Table(
    "calendar_rules",
    metadata,
    Column("account", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),  # meetings.rules_fingerprint(...)
    Column("checked_at", UTCDateTime),  # the end of the account's last pass
)
