"""What the read commands ask: contacts with their last dates, one contact's
evidence, and the untracked correspondents suggestions are made from.

Each takes an open ORM session and returns the model's value types
(``ContactFacts``, ``Correspondent``), never ORM objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from syncd import models, schema
from syncd.model import ContactFacts, Correspondent
from syncd.store.contacts import get, stored_cadence


def aware(at: datetime) -> datetime:
    """A time read back from the database, in UTC (SQLite returns naive values)."""
    if at.tzinfo is not None:
        return at
    converted: datetime | None = schema.UTCDateTime().process_result_value(at, None)
    assert converted is not None  # a value in, a value out
    return converted


def contacts(s: Session, names: Sequence[str] | None = None) -> list[ContactFacts]:
    """Tracked contacts with their last sent / received / touch times."""
    Ix, Em = models.InteractionRow, models.ContactEmail
    query = select(models.Contact).options(
        selectinload(models.Contact.emails), selectinload(models.Contact.tags)
    )
    if names is not None:
        query = query.where(func.lower(models.Contact.name).in_([n.lower() for n in names]))
    found = list(s.scalars(query.order_by(models.Contact.name)))
    last: dict[tuple[int, str], datetime] = {}
    rows = s.execute(
        select(Em.contact_id, Ix.direction, func.max(Ix.at))
        .join(Ix, Ix.address == Em.address)
        .group_by(Em.contact_id, Ix.direction)
    )
    for contact_id, direction, at in rows:
        last[(contact_id, direction)] = aware(at)
    for contact_id, at in s.execute(
        select(models.Touch.contact_id, func.max(models.Touch.at)).group_by(models.Touch.contact_id)
    ):
        last[(contact_id, "touch")] = aware(at)
    return [
        ContactFacts(
            id=c.id,
            name=c.name,
            emails=[e.display for e in c.emails],
            cadence=stored_cadence(c.cadence_seconds),
            tags=[t.tag for t in c.tags],
            snoozed_until=c.snoozed_until,
            created_at=c.created_at,
            last_sent=last.get((c.id, "sent")),
            last_received=last.get((c.id, "received")),
            last_touch=last.get((c.id, "touch")),
        )
        for c in found
    ]


def evidence(s: Session, name: str, limit: int) -> tuple[str, list[str], list[dict[str, Any]]]:
    """The latest interactions and touches behind a contact's dates, newest first,
    one entry per message."""
    Ix = models.InteractionRow
    contact = get(s, name)
    addresses = [e.address for e in contact.emails]
    entries: list[dict[str, Any]] = [
        {
            "at": t.at,
            "direction": "touch",
            "address": None,
            "account": None,
            "folder": None,
            "message_id": None,
            "subject": t.note,
        }
        for t in contact.touches
    ]
    seen: set[str] = set()
    rows = s.scalars(
        select(Ix)
        .where(Ix.address.in_(addresses))
        .order_by(Ix.at.desc(), Ix.id.desc())
        .limit(limit * 4 + 10)
    )
    for row in rows:
        if row.dedupe_key in seen:
            continue
        seen.add(row.dedupe_key)
        entries.append(
            {
                "at": row.at,
                "direction": row.direction,
                "address": row.address,
                "account": row.account,
                "folder": row.folder,
                "message_id": row.message_id,
                "subject": row.subject,
            }
        )
    entries.sort(key=lambda e: e["at"], reverse=True)
    return contact.name, [e.display for e in contact.emails], entries[:limit]


def correspondents(s: Session) -> list[Correspondent]:
    """Untracked addresses with at least one sent AND one received interaction.

    Aggregated in SQL (one GROUP BY over the address index); the distinct
    contact days and the display names seen come in two more grouped
    queries restricted to those addresses.
    """
    Ix, Em = models.InteractionRow, models.ContactEmail
    # (dedupe key, address, direction) is unique: one row per message and direction.
    sent = func.sum(sa.case((Ix.direction == "sent", 1), else_=0))
    received = func.sum(sa.case((Ix.direction == "received", 1), else_=0))
    untracked = Ix.address.not_in(select(Em.address))
    two_way = (
        select(Ix.address).where(untracked).group_by(Ix.address).having(sent > 0, received > 0)
    )
    found: dict[str, Correspondent] = {}
    rows = s.execute(
        select(Ix.address, sent, received, func.min(Ix.at), func.max(Ix.at))
        .where(untracked)
        .group_by(Ix.address)
        .having(sent > 0, received > 0)
    )
    for address, n_sent, n_received, first, last in rows:
        found[address] = Correspondent(
            address, int(n_sent), int(n_received), aware(first), aware(last), [], {}
        )
    day = func.date(Ix.at)
    for address, on in s.execute(
        select(Ix.address, day)
        .where(Ix.address.in_(two_way))
        .group_by(Ix.address, day)
        .order_by(Ix.address, day)
    ):
        found[address].days.append(date.fromisoformat(str(on)[:10]))
    for address, name, count in s.execute(
        select(Ix.address, Ix.name, func.count())
        .where(Ix.address.in_(two_way), Ix.name != "")
        .group_by(Ix.address, Ix.name)
    ):
        found[address].names[name] = int(count)
    return list(found.values())
