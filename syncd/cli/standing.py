"""``weakties status``: who is due, most overdue first (table or JSON)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from syncd import config as config_mod
from syncd import lapses
from syncd.cli import output
from syncd.cli.root import (
    App,
    main,
    pass_app,
    tagged,
)
from syncd.durations import format_cadence, format_duration
from syncd.model import AlertKind


def _reply_owed(s: lapses.Standing, config: config_mod.Config, now: datetime) -> bool:
    """They wrote last, longer ago than [notify] reply_after (and no snooze)."""
    alert = lapses.alert_for(s.facts, config, now)
    return alert is not None and alert.kind == AlertKind.REPLY


def _standing_json(s: lapses.Standing, reply_owed: bool) -> dict[str, Any]:
    f = s.facts
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
        "reply_owed": reply_owed,
        "snoozed_until": output.iso(f.snoozed_until),
    }


_DIRECTION_WORDS = {
    "sent": "you wrote",
    "received": "they wrote",
    "met": "met",
    "touch": "in person",
}


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--overdue", is_flag=True, help="Only contacts that are overdue.")
@click.option("--tag", "tags", multiple=True, help="Only contacts with this tag (repeatable).")
@pass_app
def status(app: App, as_json: bool, overdue: bool, tags: tuple[str, ...]) -> None:
    """Who is due, most overdue first."""
    now = datetime.now(UTC)
    rows = lapses.standings(tagged(app.store.contacts(), tags), app.config, now)
    if overdue:
        rows = [s for s in rows if s.overdue]
    if as_json:
        output.emit_json([_standing_json(s, _reply_owed(s, app.config, now)) for s in rows])
        return
    if not rows:
        click.echo(
            "Nobody is overdue."
            if overdue
            else f"No contact tagged {' or '.join(tags)}."
            if tags
            else "No contacts yet: add one with 'weakties contact add NAME --email ADDRESS'."
        )
        return
    table = []
    for s in rows:
        f = s.facts
        last = output.ago(f.last_contact, now)
        if f.last_direction == "met":  # "met 3 weeks ago"
            last = f"met {last}"
        elif f.last_direction:
            last += f" ({_DIRECTION_WORDS[f.last_direction]})"
        if s.snoozed:
            due = f"snoozed until {f.snoozed_until:%Y-%m-%d}"
        elif s.overdue_by is not None:
            due = f"OVERDUE by {format_duration(s.overdue_by)}"
        else:
            due = f"due in {format_duration(s.next_due - now)}"
        if _reply_owed(s, app.config, now):
            due += "; you owe a reply"
        table.append([f.name, last, format_cadence(s.cadence), due])
    output.table(table, ["NAME", "LAST CONTACT", "CADENCE", "DUE"])
