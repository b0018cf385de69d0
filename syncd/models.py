"""ORM classes mapped onto the Core tables of ``syncd.schema``, for managing contacts.

Importing this module imports ``sqlalchemy.orm``, which costs start-up time;
the sync path does without it (see ``syncd.schema``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import DeclarativeBase, Mapped, relationship

from syncd import schema


class Base(DeclarativeBase):
    metadata = schema.metadata


class Contact(Base):
    __table__ = schema.contacts

    id: Mapped[int]
    name: Mapped[str]
    cadence_seconds: Mapped[int | None]
    snoozed_until: Mapped[datetime | None]
    created_at: Mapped[datetime]

    emails: Mapped[list[ContactEmail]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="ContactEmail.id"
    )
    tags: Mapped[list[ContactTag]] = relationship(
        cascade="all, delete-orphan", order_by="ContactTag.tag"
    )
    touches: Mapped[list[Touch]] = relationship(cascade="all, delete-orphan")


class ContactEmail(Base):
    __table__ = schema.contact_emails

    id: Mapped[int]
    contact_id: Mapped[int]
    address: Mapped[str]
    display: Mapped[str]

    contact: Mapped[Contact] = relationship(back_populates="emails")


class ContactTag(Base):
    __table__ = schema.contact_tags

    contact_id: Mapped[int]
    tag: Mapped[str]


class Touch(Base):
    __table__ = schema.touches

    id: Mapped[int]
    contact_id: Mapped[int]
    at: Mapped[datetime]
    note: Mapped[str | None]


class InteractionRow(Base):
    __table__ = schema.interactions

    id: Mapped[int]
    address: Mapped[str]
    name: Mapped[str]
    direction: Mapped[str]
    at: Mapped[datetime]
    account: Mapped[str]
    folder: Mapped[str]
    message_id: Mapped[str | None]
    subject: Mapped[str | None]
    dedupe_key: Mapped[str]


class SyncState(Base):
    __table__ = schema.sync_state

    account: Mapped[str]
    scope: Mapped[str]
    state: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class NotifiedAlert(Base):
    __table__ = schema.notified_alerts

    contact_id: Mapped[int]
    kind: Mapped[str]
    channel: Mapped[str]
    basis: Mapped[datetime]
    notified_at: Mapped[datetime]
