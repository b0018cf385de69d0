"""The ``weakties`` command line (click). Parses, calls, formats: no logic of its own.

User errors (a bad config, an unknown contact, a refused login) are one line
on stderr and a non-zero exit: 2 for configuration and usage errors, 1 for
the rest. Never a traceback for those.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from connectors.base import ConnectorError
from syncd import config as config_mod
from syncd import durations, engine, importers, lapses, secrets
from syncd import suggest as suggest_mod
from syncd.accounts import authorize_gmail, check_login
from syncd.durations import format_cadence, format_duration
from syncd.model import AlertKind, ContactFacts, Draft, ImportOutcome, name_problem
from syncd.store import Store, StoreError, open_store
from syncd.suggest import Suggestion


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


def _bounded(bounds: durations.Bounds, value: str | None) -> timedelta | None:
    """A duration typed on the command line, within the bounds of its setting."""
    if value is None:
        return None
    try:
        return bounds.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _cadence(_ctx: Any, _param: Any, value: str | None) -> timedelta | None:
    return _bounded(durations.CADENCE, value)


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
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="Config file (default: $WEAKTIES_CONFIG, else the XDG config dir).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what happens, to stderr.")
@click.version_option(package_name="weakties")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, verbose: bool) -> None:
    """weakties: notices when someone you care about has gone quiet."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if ctx.resilient_parsing or ctx.invoked_subcommand == "init":
        return  # init may have to replace a config that does not load
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
            skipped = f", {r.skipped} skipped" if r.skipped else ""
            click.echo(
                f"{r.account}: {r.scanned} messages scanned, {r.new} new interactions{skipped}"
            )
        else:
            click.echo(f"weakties: error: {r.account}: {r.error}", err=True)
    failed = [r.account for r in results if not r.ok]
    if failed:
        raise SystemExit(1)


@main.command()
@click.argument("account")
@click.option(
    "--no-browser",
    is_flag=True,
    help="Gmail: print the authorization URL instead of opening a browser.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Gmail: loopback port for Google's redirect (0 = any free port).",
)
@pass_app
def auth(app: App, account: str, no_browser: bool, port: int) -> None:
    """Authorize ACCOUNT: a password for IMAP, Google's consent page for Gmail."""
    acct = app.config.account(account)
    if acct.type == "gmail":
        if no_browser:
            click.echo(
                "Open the URL below in a browser. The browser must reach this "
                "machine's loopback port (on a remote box: ssh -L PORT:localhost:PORT, "
                "with a fixed --port).",
                err=True,
            )
        address = authorize_gmail(acct, open_browser=not no_browser, port=port)
        where = acct.settings.token_file or "the keyring"
        click.echo(
            f"{acct.name}: authorized for {address} (read-only metadata); token stored in {where}"
        )
        return
    secrets.ensure_keyring()
    password = click.prompt(
        f"Password for {acct.settings.username} on {acct.settings.host}", hide_input=True, err=True
    )
    check_login(acct, password)
    secrets.store_secret(acct.name, password)
    click.echo(f"{acct.name}: password checked and stored in the keyring")


# --- status ------------------------------------------------------------------


def _days(delta: timedelta | None) -> int | float | None:
    if delta is None:
        return None
    days = delta.total_seconds() / 86400
    return int(days) if days == int(days) else round(days, 3)


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
        "cadence_days": _days(s.cadence),
        "last_contact": _iso(f.last_contact),
        "last_direction": f.last_direction,
        "last_sent": _iso(f.last_sent),
        "last_received": _iso(f.last_received),
        "due": _iso(s.due),
        "overdue": s.overdue,
        "reply_owed": reply_owed,
        "snoozed_until": _iso(f.snoozed_until),
    }


_DIRECTION_WORDS = {"sent": "you wrote", "received": "they wrote", "touch": "in person"}


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--overdue", is_flag=True, help="Only contacts that are overdue.")
@click.option("--tag", "tags", multiple=True, help="Only contacts with this tag (repeatable).")
@pass_app
def status(app: App, as_json: bool, overdue: bool, tags: tuple[str, ...]) -> None:
    """Who is due, most overdue first."""
    now = datetime.now(UTC)
    rows = lapses.standings(_tagged(app.store.contacts(), tags), app.config, now)
    if overdue:
        rows = [s for s in rows if s.overdue]
    if as_json:
        _emit_json([_standing_json(s, _reply_owed(s, app.config, now)) for s in rows])
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
        last = _ago(f.last_contact, now)
        if f.last_direction:
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
    _table(table, ["NAME", "LAST CONTACT", "CADENCE", "DUE"])


# --- contacts ----------------------------------------------------------------


@main.group()
def contact() -> None:
    """Add, list, show, edit and remove the people you keep in touch with."""


@contact.command("add")
@click.argument("name")
@click.option("--email", "emails", multiple=True, required=True, help="Repeat for several.")
@click.option("--cadence", callback=_cadence, help="How often to be in touch, e.g. 90d, 6mo.")
@click.option("--tag", "tags", multiple=True, help="Repeat for several.")
@pass_app
def contact_add(
    app: App, name: str, emails: tuple[str, ...], cadence: timedelta | None, tags: tuple[str, ...]
) -> None:
    """Track NAME, reachable at one or more addresses."""
    if (problem := name_problem(name)) is not None:
        raise UserError(problem, exit_code=2)
    app.store.add_contact(name, emails, cadence, tags, datetime.now(UTC))
    click.echo(f"added {name}")


@contact.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--tag", "tags", multiple=True, help="Only contacts with this tag (repeatable).")
@pass_app
def contact_list(app: App, as_json: bool, tags: tuple[str, ...]) -> None:
    """All tracked contacts."""
    contacts = _tagged(app.store.contacts(), tags)
    if as_json:
        _emit_json(
            [
                {
                    "name": c.name,
                    "emails": c.emails,
                    "tags": c.tags,
                    "cadence_days": _days(c.cadence),
                }
                for c in contacts
            ]
        )
        return
    _table(
        [
            [
                c.name,
                ", ".join(c.emails),
                format_cadence(c.cadence) if c.cadence else "default",
                ", ".join(c.tags),
            ]
            for c in contacts
        ],
        ["NAME", "EMAILS", "CADENCE", "TAGS"],
    )


@contact.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(min=1))
@pass_app
def contact_show(app: App, name: str, as_json: bool, limit: int) -> None:
    """The latest interactions behind NAME's dates, newest first."""
    real_name, emails, entries = app.store.evidence(name, limit)
    if as_json:
        _emit_json(
            {
                "name": real_name,
                "emails": emails,
                "interactions": [{**e, "at": _iso(e["at"])} for e in entries],
            }
        )
        return
    click.echo(f"{real_name} <{', '.join(emails)}>" if emails else f"{real_name} (no address)")
    if not entries:
        click.echo("  no interactions recorded yet")
        return
    _table(
        [
            [
                f"{e['at'].astimezone():%Y-%m-%d %H:%M}",
                e["direction"],
                f"{e['account']}/{e['folder']}" if e["account"] else "",
                e["subject"] or "",
            ]
            for e in entries
        ],
        ["WHEN", "WHICH WAY", "WHERE", "SUBJECT"],
    )


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
    """Change NAME's name, addresses, cadence or tags."""
    if new_name is not None and (problem := name_problem(new_name)) is not None:
        raise UserError(problem, exit_code=2)
    clear = cadence == "default"
    delta = None if clear else _cadence(None, None, cadence)
    app.store.edit_contact(
        name,
        new_name=new_name,
        add_emails=add_email,
        remove_emails=remove_email,
        cadence=delta,
        clear_cadence=clear,
        add_tags=add_tag,
        remove_tags=remove_tag,
    )
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
    delta = _bounded(durations.SNOOZE, duration)
    assert delta is not None
    until = datetime.now(UTC) + delta
    real = app.store.snooze(name, until)
    click.echo(f"{real} snoozed until {until:%Y-%m-%d}")


# --- onboarding: suggest, import, init ------------------------------------------


def _tagged(contacts: list[ContactFacts], tags: Sequence[str]) -> list[ContactFacts]:
    """The contacts with any of ``tags``; all of them when no tag is given."""
    if not tags:
        return contacts
    wanted = set(tags)
    return [c for c in contacts if wanted & set(c.tags)]


def _suggestions(store: Store, config: config_mod.Config, limit: int) -> list[Suggestion]:
    return suggest_mod.suggestions(
        store.correspondents(),
        config.my_addresses(),
        datetime.now(UTC),
        config.defaults.cadence,
        limit,
    )


def _suggestion_json(s: Suggestion) -> dict[str, Any]:
    return {
        "name": s.name,
        "email": s.address,
        "cadence_days": int(s.cadence.total_seconds() // 86400),
        "score": s.score,
        "conversations": s.conversations,
        "sent": s.sent,
        "received": s.received,
        "first_contact": _iso(s.first),
        "last_contact": _iso(s.last),
        "reason": s.reason,
    }


def _show_suggestions(found: list[Suggestion]) -> None:
    _table(
        [
            [str(i), s.name, s.address, format_cadence(s.cadence), s.reason]
            for i, s in enumerate(found, start=1)
        ],
        ["#", "NAME", "EMAIL", "CADENCE", "WHY"],
    )


def _pick(found: list[Suggestion]) -> list[Suggestion]:
    """Ask which suggestions to track: '1,3-5', 'all', or Enter for none."""
    while True:
        text = click.prompt(
            "Whom to track? Numbers such as 1,3-5, 'all', or Enter for none",
            default="",
            show_default=False,
        )
        try:
            return [found[i] for i in suggest_mod.parse_selection(text, len(found))]
        except ValueError as exc:
            click.echo(f"  {exc}")


def _add_suggested(store: Store, chosen: list[Suggestion]) -> None:
    drafts = [Draft(s.name, [s.address], s.cadence) for s in chosen]
    results = store.merge_contacts(drafts, datetime.now(UTC), by_name=False)
    for s, r in zip(chosen, results, strict=True):
        if r.outcome == ImportOutcome.ADDED:
            click.echo(f"added {r.contact} <{s.address}>, every {format_cadence(s.cadence)}")
        else:
            click.echo(f"{s.address}: not added ({r.reason or r.outcome})")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--add", is_flag=True, help="Track some of them (pick on the terminal).")
@click.option("--yes", is_flag=True, help="With --add: track every listed one, no questions.")
@pass_app
def suggest(app: App, as_json: bool, limit: int, add: bool, yes: bool) -> None:
    """People you have really exchanged mail with but do not track yet, best first.

    Only two-way correspondents (you wrote to them and they wrote to you);
    each with a cadence from your past rhythm and the reason in words.
    """
    if add and as_json:
        raise UserError("--add and --json do not go together", exit_code=2)
    if add and not yes and not sys.stdin.isatty():
        raise UserError(
            "--add needs a terminal to pick on; --yes tracks every listed one", exit_code=2
        )
    found = _suggestions(app.store, app.config, limit)
    if as_json:
        _emit_json([_suggestion_json(s) for s in found])
        return
    if not found:
        click.echo(
            "No suggestions: nobody untracked has both written to you and heard "
            "from you (run 'weakties sync --once' first?)."
        )
        return
    _show_suggestions(found)
    if add:
        _add_suggested(app.store, found if yes else _pick(found))


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(importers.FORMATS),
    help="The file's format (default: detected).",
)
@click.option("--tag", "tags", multiple=True, help="Tag everyone imported (repeatable).")
@click.option(
    "--cadence",
    callback=_cadence,
    help="Cadence for everyone imported without one of their own, e.g. 1y.",
)
@pass_app
def import_contacts(
    app: App, file: Path, fmt: str | None, tags: tuple[str, ...], cadence: timedelta | None
) -> None:
    """Take in an address book: vCard (.vcf), Google Contacts CSV or LinkedIn Connections.csv.

    Contacts are merged by address (a re-import adds nothing twice), else by
    the same name; all of it in one transaction.
    """
    try:
        parsed = importers.read(file, fmt)
    except importers.ImportFileError as exc:
        raise UserError(str(exc)) from None
    results = app.store.merge_contacts(
        [Draft(c.name, c.emails) for c in parsed.cards],
        datetime.now(UTC),
        tags=tags,
        cadence=cadence,
    )
    for warning in parsed.warnings:
        click.echo(f"  {warning}")
    counts = {str(k): 0 for k in ImportOutcome}
    no_address = 0
    for card, r in zip(parsed.cards, results, strict=True):
        counts[str(r.outcome)] += 1
        if r.outcome == ImportOutcome.SKIPPED:
            click.echo(f"  line {card.line}: skipped {card.name or '(no name)'}: {r.reason}")
        elif r.outcome == ImportOutcome.ADDED and not card.emails:
            no_address += 1
    click.echo(
        f"{file.name} ({parsed.format}): {counts['added']} added, {counts['merged']} "
        f"merged, {counts['unchanged']} already there, {counts['skipped']} skipped"
    )
    if no_address:
        click.echo(
            f"{no_address} of the added have no e-mail address: they stay 'never' "
            "until you give them one (weakties contact edit NAME --add-email ...)"
        )


@main.command()
@click.option("--non-interactive", is_flag=True, help="Ask nothing: take the flags below.")
@click.option(
    "--force",
    is_flag=True,
    help="With --non-interactive: replace an existing config (kept as .bak).",
)
@click.option("--address", "addresses", multiple=True, help="Your address (repeat for aliases).")
@click.option("--account-name", help="A short name for the account (default from the domain).")
@click.option("--username", help="The IMAP login (default: the first --address).")
@click.option("--host", help="IMAP server (default: guessed from the address).")
@click.option("--port", type=click.IntRange(1, 65535), help="IMAP port (default 993).")
@click.option("--security", type=click.Choice(["tls", "starttls"]), help="Default: tls.")
@click.option("--ca-file", help="An extra CA certificate to trust (self-hosted server).")
@click.option(
    "--password-command",
    help="A command that prints the password, e.g. 'pass show mail' (instead of the keyring).",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of stdin (for the keyring).",
)
@click.option(
    "--gmail-client-secrets",
    metavar="FILE",
    help="Read the Gmail address through the Gmail API with this OAuth client file.",
)
@click.option("--gmail-api-endpoint", hidden=True, help="For tests and proxies.")
@click.option("--no-sync", is_flag=True, help="Do not run the first sync.")
@click.option(
    "--service",
    "start_service",
    is_flag=True,
    help="With --non-interactive: install and start the background service.",
)
@click.option(
    "--limit",
    default=15,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many suggestions to show after the first sync.",
)
@click.pass_context
def init(
    ctx: click.Context,
    non_interactive: bool,
    force: bool,
    addresses: tuple[str, ...],
    account_name: str | None,
    username: str | None,
    host: str | None,
    port: int | None,
    security: str | None,
    ca_file: str | None,
    password_command: str | None,
    password_stdin: bool,
    gmail_client_secrets: str | None,
    gmail_api_endpoint: str | None,
    no_sync: bool,
    start_service: bool,
    limit: int,
) -> None:
    """First run: your addresses, your accounts, the config, the first sync, whom to track."""
    from syncd import init as init_mod

    path = ctx.parent.params.get("config_path") if ctx.parent else None
    path = path or config_mod.default_config_path()
    interactive = not non_interactive
    given = init_mod.Given(
        addresses=list(addresses),
        name=account_name,
        username=username,
        host=host,
        port=port,
        security=security,
        ca_file=ca_file,
        password_command=shlex.split(password_command) if password_command else None,
        gmail_client_secrets=gmail_client_secrets,
        gmail_api_endpoint=gmail_api_endpoint,
    )
    if password_stdin:
        given.password = sys.stdin.readline().rstrip("\r\n")
    try:
        config = init_mod.first_run(path, given, interactive=interactive, force=force)
    except init_mod.InitError as exc:
        raise UserError(str(exc), exit_code=exc.exit_code) from None
    if not config.accounts:
        click.echo(f"{path} has no [[account]]: nothing to sync.")
    elif no_sync or (
        interactive
        and not click.confirm(
            "Run the first sync now? (headers only; a big mailbox takes a while)", default=True
        )
    ):
        click.echo("Sync later with 'weakties sync --once'.")
    else:
        store = open_store(config.database_url)
        try:
            progress = _progress_bar()
            results = engine.sync_all(store, config, None, progress)
            if progress:
                click.echo("", err=True)
            for r in results:
                click.echo(
                    f"{r.account}: {r.scanned} messages scanned, {r.new} new interactions"
                    if r.ok
                    else f"weakties: error: {r.account}: {r.error}"
                )
            found = _suggestions(store, config, limit)
            if found:
                click.echo("\nPeople you keep exchanging mail with, not tracked yet:")
                _show_suggestions(found)
                if interactive:
                    _add_suggested(store, _pick(found))
                else:
                    click.echo("Track them with 'weakties suggest --add'.")
            else:
                click.echo("No suggestions yet: 'weakties suggest' after more mail is synced.")
        finally:
            store.close()
    if not config.accounts:
        return
    if interactive:
        start_service = click.confirm(
            "Keep weakties running in the background (a systemd user service)?", default=True
        )
    if start_service:
        _install_service(config, _explicit_config(), start=True)
    else:
        click.echo(
            "Later: 'weakties service install --now' keeps weakties watching in the "
            "background; 'weakties status' shows who is due."
        )


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
            "%s: no [[account]] configured; only checking lapses", app.config.path
        )
    store = app.store  # open (and migrate) before telling systemd we are ready
    raise SystemExit(daemon_mod.run(store, app.config, make_notifier(app.config, interactive=True)))


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
        click.echo(
            f"Quiet hours ({app.config.notify.quiet_hours}): "
            f"{len(result.alerts)} alert(s) held until they end."
        )
    for n in result.delivered:
        verb = "would tell" if dry_run else f"told ({app.config.notify.backend})"
        click.echo(f"{verb}: {n.summary}")
        for line in n.body.splitlines():
            click.echo(f"  {line}")
    if result.failed:
        raise UserError(
            f"could not deliver through the {app.config.notify.backend} backend "
            "(logged instead; it will be tried again at the next check)"
        )


@main.group()
def service() -> None:
    """Install the systemd user unit, and see how the daemon is doing."""


def _install_service(config: config_mod.Config, explicit_config: bool, start: bool) -> None:
    """Write the systemd user unit; with ``start``, enable and start it too."""
    from syncd import service as service_mod

    try:
        done = service_mod.install(config, explicit_config)
    except OSError as exc:
        raise UserError(f"cannot write the unit: {exc}") from None
    click.echo(f"{'wrote' if done.created else 'updated'} {done.path}")
    how = (
        "systemctl --user enable --now weakties"
        if done.created
        else "systemctl --user daemon-reload && systemctl --user restart weakties"
    )
    if not start:
        click.echo(how)
        return
    problem = service_mod.start()
    if problem is None:
        click.echo("weakties now runs in the background ('weakties service status' shows how)")
    else:
        click.echo(f"could not start it ({problem}); start it with: {how}")


def _explicit_config() -> bool:
    """Whether this run named its config (then the unit must name it too)."""
    root = click.get_current_context().find_root().params
    return root.get("config_path") is not None or bool(os.environ.get("WEAKTIES_CONFIG"))


@service.command("install")
@click.option("--now", "start", is_flag=True, help="Also enable and start it.")
@pass_app
def service_install(app: App, start: bool) -> None:
    """Write ~/.config/systemd/user/weakties.service for this installation."""
    _install_service(app.config, _explicit_config(), start)


@service.command("status")
@pass_app
def service_status(app: App) -> None:
    """Whether the daemon runs, and when each account last synced."""
    from syncd import service as service_mod

    now = datetime.now(UTC)
    state = service_mod.running()
    pid = f", pid {state.pid}" if state.pid else ""
    click.echo(
        f"daemon: {state.state} ({state.detail}{pid})"
        if state.detail
        else f"daemon: {state.state}{pid}"
    )
    for account in app.config.accounts:
        click.echo(f"{account.name}: last synced {_ago(app.store.last_synced(account.name), now)}")
    if state.state != "active":
        raise SystemExit(3)
