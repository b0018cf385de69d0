"""The ``weakties`` command line (click). Parses, calls, formats: no logic of its own.

User errors (a bad config, an unknown contact, a refused login) are one line
on stderr and a non-zero exit: 2 for configuration and usage errors, 1 for
the rest. Never a traceback for those.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from connectors.base import ConnectorError
from syncd import config as config_mod
from syncd import engine, lapses, secrets
from syncd.accounts import check_login
from syncd.durations import format_cadence, format_duration, parse_duration
from syncd.store import Store, StoreError, open_store


class UserError(click.ClickException):
    """One line for the user, then exit with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        click.echo(f"weakties: error: {self.message}", err=True)


class _Group(click.Group):
    """Turns the core's user-facing exceptions into one-line errors."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except config_mod.ConfigError as exc:
            raise UserError(str(exc), exit_code=2) from None
        except (StoreError, secrets.SecretError, ConnectorError) as exc:
            raise UserError(str(exc)) from None


class App:
    """What the commands share: the config, loaded once, and the store, opened lazily."""

    def __init__(self, config_path: Path | None) -> None:
        self.config = config_mod.load(config_path)
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.config.database_url)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


pass_app = click.make_pass_decorator(App)


def _duration(_ctx: Any, _param: Any, value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat() if at is not None else None


def _ago(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "never"
    return f"{format_duration(now - at)} ago" if at <= now else f"in {format_duration(at - now)}"


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _table(rows: list[list[str]], headers: list[str]) -> None:
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@click.group(cls=_Group)
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              help="Config file (default: $WEAKTIES_CONFIG, else the XDG config dir).")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens, to stderr.")
@click.version_option(package_name="weakties")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, verbose: bool) -> None:
    """weakties: notices when someone you care about has gone quiet."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if ctx.resilient_parsing:
        return
    try:
        app = App(config_path)
    except config_mod.ConfigError as exc:
        raise UserError(str(exc), exit_code=2) from None
    ctx.obj = app
    ctx.call_on_close(app.close)


# --- sync ------------------------------------------------------------------


def _progress_bar() -> Callable[[str, int, int | None], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(account: str, done: int, total: int | None) -> None:
        if total:
            filled = min(30, 30 * done // max(total, 1))
            bar = "#" * filled + "-" * (30 - filled)
            click.echo(f"\r{account}: [{bar}] {done}/{total} messages", err=True, nl=False)
        else:
            click.echo(f"\r{account}: {done} messages", err=True, nl=False)

    return show


@main.command()
@click.option("--once", is_flag=True, help="One pass, then exit (the daemon polls).")
@click.option("--account", "only", metavar="NAME", help="Sync only this account.")
@pass_app
def sync(app: App, once: bool, only: str | None) -> None:
    """Read new mail headers from the accounts and record who you exchanged mail with."""
    if not app.config.accounts:
        raise UserError(f"{app.config.path}: no [[account]] configured", exit_code=2)
    if only:
        app.config.account(only)  # unknown name -> ConfigError before any work
    progress = _progress_bar()
    results = engine.sync_all(app.store, app.config, only, progress)
    if progress:
        click.echo("", err=True)
    for r in results:
        if r.ok:
            click.echo(f"{r.account}: {r.scanned} messages scanned, {r.new} new interactions")
        else:
            click.echo(f"weakties: error: {r.account}: {r.error}", err=True)
    failed = [r.account for r in results if not r.ok]
    if failed:
        raise SystemExit(1)


@main.command()
@click.argument("account")
@pass_app
def auth(app: App, account: str) -> None:
    """Store ACCOUNT's password in the keyring, after checking it with the server."""
    acct = app.config.account(account)
    secrets.ensure_keyring()
    password = click.prompt(f"Password for {acct.settings.username} on {acct.settings.host}",
                            hide_input=True, err=True)
    check_login(acct, password)
    secrets.store_secret(acct.name, password)
    click.echo(f"{acct.name}: password checked and stored in the keyring")


# --- status ------------------------------------------------------------------


def _standing_json(s: lapses.Standing) -> dict[str, Any]:
    f = s.facts
    days = s.cadence.total_seconds() / 86400
    return {
        "name": f.name,
        "emails": f.emails,
        "tags": f.tags,
        "cadence_days": int(days) if days == int(days) else round(days, 3),
        "last_contact": _iso(f.last_contact),
        "last_direction": f.last_direction,
        "last_sent": _iso(f.last_sent),
        "last_received": _iso(f.last_received),
        "due": _iso(s.due),
        "overdue": s.overdue,
        "snoozed_until": _iso(f.snoozed_until),
    }


_DIRECTION_WORDS = {"sent": "you wrote", "received": "they wrote", "touch": "in person"}


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--overdue", is_flag=True, help="Only contacts that are overdue.")
@pass_app
def status(app: App, as_json: bool, overdue: bool) -> None:
    """Who is due, most overdue first."""
    now = datetime.now(UTC)
    rows = lapses.standings(app.store.contacts(), app.config, now)
    if overdue:
        rows = [s for s in rows if s.overdue]
    if as_json:
        _emit_json([_standing_json(s) for s in rows])
        return
    if not rows:
        click.echo("No contacts yet: add one with 'weakties contact add NAME --email ADDRESS'."
                   if not overdue else "Nobody is overdue.")
        return
    table = []
    for s in rows:
        f = s.facts
        last = _ago(f.last_contact, now)
        if f.last_direction:
            last += f" ({_DIRECTION_WORDS[f.last_direction]})"
        if s.snoozed:
            due = f"snoozed until {f.snoozed_until:%Y-%m-%d}"
        elif s.overdue_by is not None:
            due = f"OVERDUE by {format_duration(s.overdue_by)}"
        else:
            due = f"due in {format_duration(s.next_due - now)}"
        table.append([f.name, last, format_cadence(s.cadence), due])
    _table(table, ["NAME", "LAST CONTACT", "CADENCE", "DUE"])


# --- contacts ----------------------------------------------------------------


@main.group()
def contact() -> None:
    """Add, list, show, edit and remove the people you keep in touch with."""


@contact.command("add")
@click.argument("name")
@click.option("--email", "emails", multiple=True, required=True, help="Repeat for several.")
@click.option("--cadence", callback=_duration, help="How often to be in touch, e.g. 90d, 6mo.")
@click.option("--tag", "tags", multiple=True, help="Repeat for several.")
@pass_app
def contact_add(app: App, name: str, emails: tuple[str, ...], cadence: timedelta | None,
                tags: tuple[str, ...]) -> None:
    """Track NAME, reachable at one or more addresses."""
    app.store.add_contact(name, emails, cadence, tags, datetime.now(UTC))
    click.echo(f"added {name}")


@contact.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def contact_list(app: App, as_json: bool) -> None:
    """All tracked contacts."""
    contacts = app.store.contacts()
    if as_json:
        _emit_json([{"name": c.name, "emails": c.emails, "tags": c.tags,
                     "cadence_days": c.cadence.total_seconds() / 86400 if c.cadence else None}
                    for c in contacts])
        return
    _table([[c.name, ", ".join(c.emails), format_cadence(c.cadence) if c.cadence else "default",
             ", ".join(c.tags)] for c in contacts], ["NAME", "EMAILS", "CADENCE", "TAGS"])


@contact.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(min=1))
@pass_app
def contact_show(app: App, name: str, as_json: bool, limit: int) -> None:
    """The latest interactions behind NAME's dates, newest first."""
    real_name, emails, entries = app.store.evidence(name, limit)
    if as_json:
        _emit_json({"name": real_name, "emails": emails,
                    "interactions": [{**e, "at": _iso(e["at"])} for e in entries]})
        return
    click.echo(f"{real_name} <{', '.join(emails)}>")
    if not entries:
        click.echo("  no interactions recorded yet")
    for e in entries:
        where = f"{e['account']}/{e['folder']}" if e["account"] else ""
        what = e["subject"] or ""
        click.echo(f"  {e['at']:%Y-%m-%d %H:%M}  {e['direction']:<8}  {where}  {what}".rstrip())


@contact.command("edit")
@click.argument("name")
@click.option("--name", "new_name", help="Rename the contact.")
@click.option("--add-email", multiple=True)
@click.option("--remove-email", multiple=True)
@click.option("--cadence", help="A duration, or 'default' to use the tag or default cadence.")
@click.option("--add-tag", multiple=True)
@click.option("--remove-tag", multiple=True)
@pass_app
def contact_edit(app: App, name: str, new_name: str | None, add_email: tuple[str, ...],
                 remove_email: tuple[str, ...], cadence: str | None,
                 add_tag: tuple[str, ...], remove_tag: tuple[str, ...]) -> None:
    """Change NAME's name, addresses, cadence or tags."""
    clear = cadence == "default"
    delta = None if clear else _duration(None, None, cadence)
    app.store.edit_contact(name, new_name=new_name, add_emails=add_email,
                           remove_emails=remove_email, cadence=delta, clear_cadence=clear,
                           add_tags=add_tag, remove_tags=remove_tag)
    click.echo(f"updated {new_name or name}")


@contact.command("rm")
@click.argument("name")
@pass_app
def contact_rm(app: App, name: str) -> None:
    """Stop tracking NAME (the recorded mail history stays)."""
    app.store.remove_contact(name)
    click.echo(f"removed {name}")


@main.command()
@click.argument("name")
@click.option("--at", "at", help="When (ISO 8601; default now).")
@click.option("--note", help="What it was: 'coffee', 'call'...")
@pass_app
def touch(app: App, name: str, at: str | None, note: str | None) -> None:
    """Record contact with NAME outside mail (a coffee, a call)."""
    when = datetime.now(UTC)
    if at:
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            raise click.BadParameter(f"not an ISO 8601 time: {at!r}", param_hint="--at") from None
        when = when.astimezone(UTC)  # a naive time is the local time
    app.store.add_touch(name, when, note)
    click.echo(f"recorded contact with {name} on {when:%Y-%m-%d}")


@main.command()
@click.argument("name")
@click.argument("duration")
@pass_app
def snooze(app: App, name: str, duration: str) -> None:
    """Keep NAME quiet for DURATION (e.g. 30d), or 'off' to end a snooze."""
    if duration == "off":
        real = app.store.snooze(name, None)
        click.echo(f"{real} is no longer snoozed")
        return
    delta = _duration(None, None, duration)
    assert delta is not None
    until = datetime.now(UTC) + delta
    real = app.store.snooze(name, until)
    click.echo(f"{real} snoozed until {until:%Y-%m-%d}")


# --- the background service ----------------------------------------------------


@main.command()
@pass_app
def daemon(app: App) -> None:
    """Poll the accounts and tell of lapses until stopped (systemd runs this)."""
    from syncd import daemon as daemon_mod
    from syncd.notify import make_notifier
    from syncd.systemd import configure_logging

    configure_logging(verbose=bool(click.get_current_context().find_root().params["verbose"]))
    if not app.config.accounts:
        logging.getLogger("weakties.daemon").warning(
            "%s: no [[account]] configured; only checking lapses", app.config.path)
    store = app.store  # open (and migrate) before telling systemd we are ready
    raise SystemExit(daemon_mod.run(store, app.config, make_notifier(app.config,
                                                                     interactive=True)))


@main.command("check-lapses")
@click.option("--dry-run", is_flag=True, help="Show what would be told; send and record nothing.")
@pass_app
def check_lapses(app: App, dry_run: bool) -> None:
    """Check for lapses once, tell them through the configured backend, and exit."""
    from syncd import alerts
    from syncd.notify import make_notifier

    notifier = make_notifier(app.config, interactive=False)
    try:
        result = alerts.check(app.store, app.config, notifier, dry_run=dry_run)
    finally:
        notifier.close()
    if not result.alerts:
        click.echo("Nobody to tell about.")
    elif result.held:
        click.echo(f"Quiet hours ({app.config.notify.quiet_hours}): "
                   f"{len(result.alerts)} alert(s) held until they end.")
    for n in result.delivered:
        verb = "would tell" if dry_run else f"told ({app.config.notify.backend})"
        click.echo(f"{verb}: {n.summary}")
        for line in n.body.splitlines():
            click.echo(f"  {line}")
    if result.failed:
        raise UserError(f"could not deliver through the {app.config.notify.backend} backend "
                        "(logged instead; it will be tried again at the next check)")


@main.group()
def service() -> None:
    """Install the systemd user unit, and see how the daemon is doing."""


@service.command("install")
@pass_app
def service_install(app: App) -> None:
    """Write ~/.config/systemd/user/weakties.service for this installation."""
    import os

    from syncd import service as service_mod

    root = click.get_current_context().find_root().params
    explicit = root.get("config_path") is not None or bool(os.environ.get("WEAKTIES_CONFIG"))
    try:
        done = service_mod.install(app.config.path, explicit, app.config.database_url)
    except OSError as exc:
        raise UserError(f"cannot write the unit: {exc}") from None
    click.echo(f"{'wrote' if done.created else 'updated'} {done.path}")
    if done.created:
        click.echo("systemctl --user enable --now weakties")
    else:
        click.echo("systemctl --user daemon-reload && systemctl --user restart weakties")


@service.command("status")
@pass_app
def service_status(app: App) -> None:
    """Whether the daemon runs, and when each account last synced."""
    from syncd import service as service_mod

    now = datetime.now(UTC)
    state = service_mod.running()
    pid = f", pid {state.pid}" if state.pid else ""
    click.echo(f"daemon: {state.state} ({state.detail}{pid})" if state.detail
               else f"daemon: {state.state}{pid}")
    for account in app.config.accounts:
        click.echo(f"{account.name}: last synced {_ago(app.store.last_synced(account.name), now)}")
    if state.state != "active":
        raise SystemExit(3)
