"""``weakties contact ...``, ``touch`` and ``snooze``: the people tracked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from syncd import durations
from syncd.cli.formatters import Evidence, Formatter, json_option
from syncd.cli.root import (
    App,
    bounded_duration,
    main,
    parse_cadence,
    pass_app,
    tagged,
)
from syncd.errors import UsageError


@main.group()
def contact() -> None:
    """Add, list, show, edit and remove the people you keep in touch with."""


@contact.command("add")
@click.argument("name")
@click.option("--email", "emails", multiple=True, required=True, help="Repeat for several.")
@click.option("--cadence", callback=parse_cadence, help="How often to be in touch, e.g. 90d, 6mo.")
@click.option("--tag", "tags", multiple=True, help="Repeat for several.")
@pass_app
def contact_add(
    app: App, name: str, emails: tuple[str, ...], cadence: timedelta | None, tags: tuple[str, ...]
) -> None:
    """Track NAME, reachable at one or more addresses."""
    stored = app.store.add_contact(name, emails, cadence, tags, datetime.now(UTC))
    click.echo(f"added {stored}")


@contact.command("list")
@json_option
@click.option("--tag", "tags", multiple=True, help="Only contacts with this tag (repeatable).")
@pass_app
def contact_list(app: App, formatter: Formatter, tags: tuple[str, ...]) -> None:
    """All tracked contacts."""
    formatter.contacts(tagged(app.store.contacts(), tags))


@contact.command("show")
@click.argument("name")
@json_option
@click.option("--limit", default=10, show_default=True, type=click.IntRange(min=1))
@pass_app
def contact_show(app: App, name: str, formatter: Formatter, limit: int) -> None:
    """The latest interactions behind NAME's dates, newest first."""
    formatter.evidence(Evidence(*app.store.evidence(name, limit)))


@contact.command("edit")
@click.argument("name")
@click.option("--name", "new_name", help="Rename the contact.")
@click.option("--add-email", multiple=True)
@click.option("--remove-email", multiple=True)
@click.option("--cadence", help="A duration, or 'default' to use the tag or default cadence.")
@click.option("--add-tag", multiple=True)
@click.option("--remove-tag", multiple=True)
@pass_app
def contact_edit(
    app: App,
    name: str,
    new_name: str | None,
    add_email: tuple[str, ...],
    remove_email: tuple[str, ...],
    cadence: str | None,
    add_tag: tuple[str, ...],
    remove_tag: tuple[str, ...],
) -> None:
    """Change NAME's name, addresses, cadence or tags.

    Give at least one option: with none there is nothing to change, which is
    a usage error (exit status 2) and changes nothing.
    """
    if not (new_name or add_email or remove_email or cadence or add_tag or remove_tag):
        raise UsageError(
            f"nothing to change for {name!r}: give an option such as --cadence or --add-tag "
            "(see 'weakties contact edit --help')"
        )
    clear = cadence == "default"
    delta = None if clear else parse_cadence(None, None, cadence)
    stored = app.store.edit_contact(
        name,
        new_name=new_name,
        add_emails=add_email,
        remove_emails=remove_email,
        cadence=delta,
        clear_cadence=clear,
        add_tags=add_tag,
        remove_tags=remove_tag,
    )
    click.echo(f"updated {stored}")


@contact.command("rm")
@click.argument("name")
@pass_app
def contact_rm(app: App, name: str) -> None:
    """Stop tracking NAME (the recorded mail history stays)."""
    stored = app.store.remove_contact(name)
    click.echo(f"removed {stored}")


#: How far ahead ``touch --at`` may be: a meeting later today in another time
#: zone, not a date that would mute the contact for years.
TOUCH_AHEAD = timedelta(days=1)


@main.command()
@click.argument("name")
@click.option("--at", "at", help="When (ISO 8601; default now; at most a day ahead).")
@click.option("--note", help="What it was: 'coffee', 'call'...")
@click.option("--undo", is_flag=True, help="Remove the touch recorded last for NAME instead.")
@pass_app
def touch(app: App, name: str, at: str | None, note: str | None, undo: bool) -> None:
    """Record contact with NAME outside mail (a coffee, a call).

    With --undo, remove the manual touch recorded last for NAME and say which;
    with none recorded, that is an error (exit status 2).
    """
    now = datetime.now(UTC)
    if undo:
        if at or note:
            raise UsageError("--undo takes no --at or --note")
        stored, when, what = app.store.undo_touch(name)
        about = f" ({what})" if what else ""
        click.echo(f"removed the touch with {stored} on {when.astimezone():%Y-%m-%d}{about}")
        return
    when = now
    if at:
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            raise click.BadParameter(f"not an ISO 8601 time: {at!r}", param_hint="--at") from None
        when = when.astimezone(UTC)  # a naive time is the local time
        if when > now + TOUCH_AHEAD:
            raise click.BadParameter(
                f"{at!r} is more than a day ahead; a touch is something that happened",
                param_hint="--at",
            )
    stored = app.store.add_touch(name, when, note)
    click.echo(f"recorded contact with {stored} on {when.astimezone():%Y-%m-%d}")


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("duration")
@pass_app
def snooze(app: App, name: str, duration: str) -> None:
    """Keep NAME quiet for DURATION (e.g. 30d), or 'off' to end a snooze."""
    if duration == "off":
        real = app.store.snooze(name, None)
        click.echo(f"{real} is no longer snoozed")
        return
    delta = bounded_duration(durations.SNOOZE, duration)
    assert delta is not None
    until = datetime.now(UTC) + delta
    real = app.store.snooze(name, until)
    click.echo(f"{real} snoozed until {until:%Y-%m-%d}")
