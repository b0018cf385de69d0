"""What each concept looks like on the way out: one formatter for people, one for JSON.

A command asks for its formatter once, through the ``--json`` flag
(:func:`json_option` turns it into a :class:`Formatter`), and hands it the
command's result: standings, contacts, one contact's evidence, suggestions, the database.
So every concept has exactly one JSON shape (``cadence_days`` is the same
number everywhere) and one table, whichever command prints it. The table
and JSON writers and the time words are ``output.py``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import click

from syncd.cli import output
from syncd.durations import format_duration
from syncd.lapses import Standing
from syncd.model import ContactFacts

if TYPE_CHECKING:  # suggest compiles the address grammar: not on status's start-up
    from syncd.suggest import Suggestion

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class StandingRow:
    """One line of ``status``: the standing, and whether a reply is owed."""

    standing: Standing
    reply_owed: bool


@dataclass(frozen=True)
class Evidence:
    """``contact show``: the stored name, addresses and latest interactions."""

    name: str
    emails: list[str]
    entries: list[dict[str, Any]]


@dataclass(frozen=True)
class DatabaseInfo:
    """``db status``: where the database is (password masked), its schema, its rows."""

    url: str
    schema: str | None
    schema_head: str
    rows: dict[str, int]


class Formatter(Protocol):
    def standings(self, rows: Sequence[StandingRow], now: datetime, empty: str) -> None: ...
    def contacts(self, contacts: Sequence[ContactFacts]) -> None: ...
    def evidence(self, evidence: Evidence) -> None: ...
    def suggestions(self, found: Sequence[Suggestion], empty: str) -> None: ...
    def database(self, info: DatabaseInfo) -> None: ...


#: How ``status`` words the way the last contact went.
DIRECTION_WORDS = {"sent": "you wrote", "received": "they wrote", "touch": "in person"}


class Human:
    """Tables and sentences for a terminal (``empty`` is said when there is nothing)."""

    def standings(self, rows: Sequence[StandingRow], now: datetime, empty: str) -> None:
        if not rows:
            click.echo(empty)
            return
        table = []
        for row in rows:
            s, f = row.standing, row.standing.facts
            last = output.ago(f.last_contact, now)
            if f.last_direction == "met":  # "met 3 weeks ago"
                last = f"met {last}"
            elif f.last_direction:
                last += f" ({DIRECTION_WORDS[f.last_direction]})"
            if s.snoozed:
                due = f"snoozed until {f.snoozed_until:%Y-%m-%d}"
            elif s.overdue_by is not None:
                due = f"OVERDUE by {format_duration(s.overdue_by)}"
            else:
                due = f"due in {format_duration(s.next_due - now)}"
            if row.reply_owed:
                due += "; you owe a reply"
            table.append([f.name, last, format_duration(s.cadence), due])
        output.table(table, ["NAME", "LAST CONTACT", "CADENCE", "DUE"])

    def contacts(self, contacts: Sequence[ContactFacts]) -> None:
        output.table(
            [
                [
                    c.name,
                    ", ".join(c.emails),
                    format_duration(c.cadence) if c.cadence else "default",
                    ", ".join(c.tags),
                ]
                for c in contacts
            ],
            ["NAME", "EMAILS", "CADENCE", "TAGS"],
        )

    def evidence(self, evidence: Evidence) -> None:
        name, emails = evidence.name, evidence.emails
        click.echo(f"{name} <{', '.join(emails)}>" if emails else f"{name} (no address)")
        if not evidence.entries:
            click.echo("  no interactions recorded yet")
            return
        output.table(
            [
                [
                    f"{e['at'].astimezone():%Y-%m-%d %H:%M}",
                    e["direction"],
                    f"{e['account']}/{e['folder']}" if e["account"] else "",
                    e["subject"] or "",
                ]
                for e in evidence.entries
            ],
            ["WHEN", "WHICH WAY", "WHERE", "SUBJECT"],
        )

    def suggestions(self, found: Sequence[Suggestion], empty: str) -> None:
        if not found:
            click.echo(empty)
            return
        output.table(
            [
                [str(i), s.name, s.address, format_duration(s.cadence), s.reason]
                for i, s in enumerate(found, start=1)
            ],
            ["#", "NAME", "EMAIL", "CADENCE", "WHY"],
        )

    def database(self, info: DatabaseInfo) -> None:
        click.echo(f"database: {info.url}")
        click.echo(f"schema: {info.schema} (this weakties: {info.schema_head})")
        output.table([[name, str(n)] for name, n in info.rows.items()], ["table", "rows"])


def standing_json(row: StandingRow) -> dict[str, Any]:
    s, f = row.standing, row.standing.facts
    return {
        "name": f.name,
        "emails": f.emails,
        "tags": f.tags,
        "cadence_days": output.days(s.cadence),
        "last_contact": output.iso(f.last_contact),
        "last_direction": f.last_direction,
        "last_sent": output.iso(f.last_sent),
        "last_received": output.iso(f.last_received),
        "last_met": output.iso(f.last_met),
        "due": output.iso(s.due),
        "overdue": s.overdue,
        "reply_owed": row.reply_owed,
        "snoozed_until": output.iso(f.snoozed_until),
    }


def contact_json(c: ContactFacts) -> dict[str, Any]:
    return {
        "name": c.name,
        "emails": c.emails,
        "tags": c.tags,
        "cadence_days": output.days(c.cadence),
    }


def suggestion_json(s: Suggestion) -> dict[str, Any]:
    return {
        "name": s.name,
        "email": s.address,
        "cadence_days": output.days(s.cadence),
        "score": s.score,
        "conversations": s.conversations,
        "sent": s.sent,
        "received": s.received,
        "met": s.met,
        "first_contact": output.iso(s.first),
        "last_contact": output.iso(s.last),
        "reason": s.reason,
    }


class Json:
    """One JSON document per command (nothing said when there is nothing: ``[]``)."""

    def standings(self, rows: Sequence[StandingRow], now: datetime, empty: str) -> None:
        output.emit_json([standing_json(r) for r in rows])

    def contacts(self, contacts: Sequence[ContactFacts]) -> None:
        output.emit_json([contact_json(c) for c in contacts])

    def evidence(self, evidence: Evidence) -> None:
        output.emit_json(
            {
                "name": evidence.name,
                "emails": evidence.emails,
                "interactions": [{**e, "at": output.iso(e["at"])} for e in evidence.entries],
            }
        )

    def suggestions(self, found: Sequence[Suggestion], empty: str) -> None:
        output.emit_json([suggestion_json(s) for s in found])

    def database(self, info: DatabaseInfo) -> None:
        output.emit_json(
            {
                "url": info.url,
                "schema": info.schema,
                "schema_head": info.schema_head,
                "rows": info.rows,
            }
        )


HUMAN, JSON = Human(), Json()


def json_option(command: F) -> F:
    """``--json``: the command receives ``formatter``, chosen here once."""
    return click.option(
        "--json",
        "formatter",
        is_flag=True,
        help="Machine-readable output.",
        callback=lambda ctx, param, as_json: JSON if as_json else HUMAN,
    )(command)
