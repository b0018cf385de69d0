"""The database tables (SQLAlchemy 2.x ORM). Schema changes go through Alembic
(``syncd/migrations``); a test checks the two agree.

* ``interactions``: what the rules found, for every correspondent (not only
  tracked contacts). Metadata only. One row per (message, address, direction):
  the unique dedupe key makes replaying a batch change nothing.
* ``sync_state``: per account and scope (an IMAP folder, Gmail's history), the
  connector's cursor. Written in the same transaction as the interactions.
* ``contacts`` with their ``contact_emails`` and ``contact_tags``; ``touches``
  are interactions without mail (a coffee, a call).
* ``notified_alerts``: per contact and alert kind, which lapse (named by the
  contact time it is about) was last told, and when.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


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


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    cadence_seconds: Mapped[int | None] = mapped_column(Integer)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    emails: Mapped[list[ContactEmail]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="ContactEmail.id"
    )
    tags: Mapped[list[ContactTag]] = relationship(
        cascade="all, delete-orphan", order_by="ContactTag.tag"
    )
    touches: Mapped[list[Touch]] = relationship(cascade="all, delete-orphan")


class ContactEmail(Base):
    __tablename__ = "contact_emails"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320), unique=True)  # normalised
    display: Mapped[str] = mapped_column(String(320))  # as the user typed it

    contact: Mapped[Contact] = relationship(back_populates="emails")


class ContactTag(Base):
    __tablename__ = "contact_tags"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)


class Touch(Base):
    __tablename__ = "touches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (
        UniqueConstraint("dedupe_key", "address", "direction"),
        Index("ix_interactions_address_direction_at", "address", "direction", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(320))  # normalised
    name: Mapped[str] = mapped_column(String(200), default="")
    direction: Mapped[str] = mapped_column(String(10))  # "sent" | "received"
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    account: Mapped[str] = mapped_column(String(200))
    folder: Mapped[str] = mapped_column(String(500))
    message_id: Mapped[str | None] = mapped_column(String(998))
    subject: Mapped[str | None] = mapped_column(String(500))
    dedupe_key: Mapped[str] = mapped_column(String(998))


class SyncState(Base):
    __tablename__ = "sync_state"

    account: Mapped[str] = mapped_column(String(200), primary_key=True)
    scope: Mapped[str] = mapped_column(String(500), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NotifiedAlert(Base):
    __tablename__ = "notified_alerts"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # "lapse" | "reply"
    basis: Mapped[datetime] = mapped_column(UTCDateTime)  # the contact time the alert was about
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime)
