"""Managing tracked contacts: add, edit, remove, touch, snooze, and bulk merges.

Every function takes an open ORM session (``Store.session()``: one
transaction) and works through ``syncd.models``. Errors say what the caller
can act on: :class:`NotFound`, :class:`AlreadyExists`, :class:`Invalid`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from syncd import models
from syncd.addresses import normalize
from syncd.errors import AlreadyExists, Invalid, NotFound, no_contact
from syncd.model import Draft, ImportOutcome, Merged, name_problem


def seconds(delta: timedelta | None) -> int | None:
    return None if delta is None else int(delta.total_seconds())


def find(s: Session, name: str) -> models.Contact | None:
    """The contact called ``name`` (case-insensitive), or None."""
    return s.scalar(
        select(models.Contact).where(func.lower(models.Contact.name) == name.strip().lower())
    )


def get(s: Session, name: str) -> models.Contact:
    contact = find(s, name)
    if contact is None:
        raise no_contact(name, s.scalars(select(models.Contact.name)))
    return contact


def _claim(s: Session, contact: models.Contact, emails: Iterable[str]) -> None:
    for display in emails:
        address = normalize(display)
        if address is None:
            raise Invalid(f"not an e-mail address: {display!r}")
        if any(e.address == address for e in contact.emails):
            continue
        owner = s.scalar(select(models.ContactEmail).where(models.ContactEmail.address == address))
        if owner is not None:
            raise AlreadyExists(f"{display} already belongs to {owner.contact.name!r}")
        contact.emails.append(models.ContactEmail(address=address, display=display.strip()))
        s.flush()


def add(
    s: Session,
    name: str,
    emails: Sequence[str],
    cadence: timedelta | None,
    tags: Sequence[str],
    now: datetime,
) -> str:
    name = name.strip()
    if not name:
        raise Invalid("a contact needs a name")
    if (problem := name_problem(name)) is not None:
        raise Invalid(problem)
    if find(s, name) is not None:
        raise AlreadyExists(f"a contact named {name!r} exists already")
    contact = models.Contact(
        name=name,
        cadence_seconds=seconds(cadence),
        created_at=now,
        tags=[models.ContactTag(tag=t) for t in sorted(set(tags))],
    )
    s.add(contact)
    _claim(s, contact, emails)
    return contact.name


def edit(
    s: Session,
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
    contact = get(s, name)
    if new_name is not None and (problem := name_problem(new_name)) is not None:
        raise Invalid(problem)
    if new_name and new_name.strip().lower() != contact.name.lower() and find(s, new_name):
        raise AlreadyExists(f"a contact named {new_name!r} exists already")
    if new_name:
        contact.name = new_name.strip()
    for display in remove_emails:
        address = normalize(display)
        match = [e for e in contact.emails if e.address == address]
        if not match:
            raise NotFound(f"{contact.name!r} has no address {display}")
        contact.emails.remove(match[0])
    s.flush()
    _claim(s, contact, add_emails)
    if clear_cadence:
        contact.cadence_seconds = None
    elif cadence is not None:
        contact.cadence_seconds = seconds(cadence)
    tags = ({t.tag for t in contact.tags} | set(add_tags)) - set(remove_tags)
    contact.tags = [t for t in contact.tags if t.tag in tags]
    have = {t.tag for t in contact.tags}
    contact.tags += [models.ContactTag(tag=t) for t in sorted(tags - have)]
    return contact.name


def undo_touch(s: Session, name: str) -> tuple[str, datetime, str | None]:
    """Remove the manual touch recorded last for ``name`` (the highest id, whatever
    its date); returns the stored name and the removed touch's time and note."""
    contact = get(s, name)
    last = s.scalar(
        select(models.Touch)
        .where(models.Touch.contact_id == contact.id)
        .order_by(models.Touch.id.desc())
        .limit(1)
    )
    if last is None:
        raise NotFound(f"no manual touch recorded for {contact.name!r}")
    contact.touches.remove(last)
    return contact.name, last.at, last.note


@dataclass
class MergeIndex:
    """Every contact by lower-cased name and by address, loaded once per import
    transaction and kept up to date by :func:`merge`, so that thousands of cards
    are matched in memory (no query, no flush per card)."""

    named: dict[str, models.Contact]
    owned: dict[str, models.Contact]


def merge_index(s: Session) -> MergeIndex:
    """The :class:`MergeIndex` of the contacts stored now (emails and tags loaded)."""
    everyone = s.scalars(
        select(models.Contact).options(
            selectinload(models.Contact.emails), selectinload(models.Contact.tags)
        )
    ).all()
    return MergeIndex(
        named={c.name.lower(): c for c in everyone},
        owned={e.address: c for c in everyone for e in c.emails},
    )


def merge(
    s: Session,
    draft: Draft,
    now: datetime,
    tags: Sequence[str],
    cadence: timedelta | None,
    by_name: bool,
    index: MergeIndex,
) -> Merged:
    """Add ``draft`` or merge it into the contact it matches (see ``Store.merge_contacts``);
    ``index`` (:func:`merge_index`) is kept up to date."""
    addresses: dict[str, str] = {}
    for display in draft.emails:
        address = normalize(display)
        if address is None:
            raise Invalid(f"not an e-mail address: {display!r}")
        addresses.setdefault(address, display.strip())
    name = draft.name.strip()[:200]
    owners: dict[int, models.Contact] = {}
    for address in addresses:
        if (owner := index.owned.get(address)) is not None:
            owners[id(owner)] = owner
    if len(owners) > 1:
        names = " and ".join(repr(c.name) for c in owners.values())
        return Merged(ImportOutcome.SKIPPED, name, f"its addresses belong to {names}")
    if not name and not addresses:
        return Merged(ImportOutcome.SKIPPED, "", "no name and no address")
    own_cadence = draft.cadence or cadence
    target = next(iter(owners.values()), None)
    taken = None
    if target is None and name:
        taken = index.named.get(name.lower())
        if by_name:
            target = taken
    if target is None:
        name = name or next(iter(addresses.values()))
        if taken is not None:
            name = f"{name} ({next(iter(addresses.values()), '?')})"[:200]
        contact = models.Contact(
            name=name,
            cadence_seconds=seconds(own_cadence),
            created_at=now,
            tags=[models.ContactTag(tag=t) for t in sorted(set(tags))],
        )
        s.add(contact)
        contact.emails += [models.ContactEmail(address=a, display=d) for a, d in addresses.items()]
        index.named.setdefault(name.lower(), contact)
        index.owned.update(dict.fromkeys(addresses, contact))
        return Merged(ImportOutcome.ADDED, name)
    changed = False
    have = {e.address for e in target.emails}
    for address, display in addresses.items():
        if address not in have:
            target.emails.append(models.ContactEmail(address=address, display=display))
            index.owned[address] = target
            changed = True
    have_tags = {t.tag for t in target.tags}
    for tag in sorted(set(tags) - have_tags):
        target.tags.append(models.ContactTag(tag=tag))
        changed = True
    if own_cadence is not None and target.cadence_seconds is None:
        target.cadence_seconds = seconds(own_cadence)
        changed = True
    return Merged(ImportOutcome.MERGED if changed else ImportOutcome.UNCHANGED, target.name)
