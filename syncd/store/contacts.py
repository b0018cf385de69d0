"""Managing tracked contacts: add, edit, remove, touch, snooze, and bulk merges.

Every function takes an open ORM session (``Store.session()``: one
transaction) and works through ``syncd.models``. Errors say what the caller
can act on: :class:`NotFound`, :class:`AlreadyExists`, :class:`Invalid`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from syncd import models
from syncd.addresses import normalize
from syncd.errors import AlreadyExists, Invalid, NotFound
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
        raise NotFound(f"no contact named {name!r}")
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
) -> None:
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
) -> None:
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


def by_name_index(s: Session) -> dict[str, models.Contact]:
    """Every contact by its lower-cased name, for :func:`merge`."""
    return {c.name.lower(): c for c in s.scalars(select(models.Contact))}


def merge(
    s: Session,
    draft: Draft,
    now: datetime,
    tags: Sequence[str],
    cadence: timedelta | None,
    by_name: bool,
    named: dict[str, models.Contact],
) -> Merged:
    """Add ``draft`` or merge it into the contact it matches (see ``Store.merge_contacts``).

    ``named`` maps every contact's lower-cased name to it (:func:`by_name_index`,
    kept up to date here), so an import of thousands of cards looks names up in
    memory instead of scanning ``contacts`` once per card."""
    addresses: dict[str, str] = {}
    for display in draft.emails:
        address = normalize(display)
        if address is None:
            raise Invalid(f"not an e-mail address: {display!r}")
        addresses.setdefault(address, display.strip())
    name = draft.name.strip()[:200]
    owners = {}
    for address in addresses:
        owner = s.scalar(select(models.ContactEmail).where(models.ContactEmail.address == address))
        if owner is not None:
            owners[owner.contact.id] = owner.contact
    if len(owners) > 1:
        names = " and ".join(repr(c.name) for c in owners.values())
        return Merged(ImportOutcome.SKIPPED, name, f"its addresses belong to {names}")
    if not name and not addresses:
        return Merged(ImportOutcome.SKIPPED, "", "no name and no address")
    own_cadence = draft.cadence or cadence
    target = next(iter(owners.values()), None)
    taken = None
    if target is None and name:
        taken = named.get(name.lower())
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
        named.setdefault(name.lower(), contact)
        return Merged(ImportOutcome.ADDED, name)
    changed = False
    have = {e.address for e in target.emails}
    for address, display in addresses.items():
        if address not in have:
            target.emails.append(models.ContactEmail(address=address, display=display))
            changed = True
    have_tags = {t.tag for t in target.tags}
    for tag in sorted(set(tags) - have_tags):
        target.tags.append(models.ContactTag(tag=tag))
        changed = True
    if own_cadence is not None and target.cadence_seconds is None:
        target.cadence_seconds = seconds(own_cadence)
        changed = True
    return Merged(ImportOutcome.MERGED if changed else ImportOutcome.UNCHANGED, target.name)
