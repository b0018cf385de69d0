"""``weakties status``: who is due, most overdue first (table or JSON)."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from syncd import config as config_mod
from syncd import lapses
from syncd.cli.formatters import Formatter, StandingRow, json_option
from syncd.cli.root import (
    App,
    main,
    pass_app,
    tagged,
)
from syncd.model import AlertKind


def _reply_owed(s: lapses.Standing, config: config_mod.Config, now: datetime) -> bool:
    """They wrote last, longer ago than [notify] reply_after (and no snooze)."""
    alert = lapses.alert_for(s.facts, config, now)
    return alert is not None and alert.kind == AlertKind.REPLY


@main.command()
@json_option
@click.option("--overdue", is_flag=True, help="Only contacts that are overdue.")
@click.option("--tag", "tags", multiple=True, help="Only contacts with this tag (repeatable).")
@pass_app
def status(app: App, formatter: Formatter, overdue: bool, tags: tuple[str, ...]) -> None:
    """Who is due, most overdue first."""
    now = datetime.now(UTC)
    rows = lapses.standings(tagged(app.store.contacts(), tags), app.config, now)
    if overdue:
        rows = [s for s in rows if s.overdue]
    empty = (
        "Nobody is overdue."
        if overdue
        else f"No contact tagged {' or '.join(tags)}."
        if tags
        else "No contacts yet: add one with 'weakties contact add NAME --email ADDRESS'."
    )
    views = [StandingRow(s, _reply_owed(s, app.config, now)) for s in rows]
    formatter.standings(views, now, empty)
