"""Onboarding: ``suggest``, ``import`` and the ``init`` dialogue's command."""

from __future__ import annotations

import shlex
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from syncd import config as config_mod
from syncd import importers
from syncd import suggest as suggest_mod
from syncd.cli import output
from syncd.cli.background import explicit_config, install_service
from syncd.cli.root import (
    App,
    main,
    parse_cadence,
    pass_app,
    progress_bar,
)
from syncd.durations import format_cadence
from syncd.errors import UsageError
from syncd.model import Draft, ImportOutcome
from syncd.store import Store, open_store
from syncd.suggest import Suggestion


def _suggestions(store: Store, config: config_mod.Config, limit: int) -> list[Suggestion]:
    """Rank everyone from the summary's counts, then load days and names for the best."""
    now, mine = datetime.now(UTC), config.my_addresses()
    best = suggest_mod.shortlist(store.correspondents(details=False), mine, now, limit)
    return suggest_mod.suggestions(
        store.correspondents(best), mine, now, config.defaults.cadence, limit
    )


def _suggestion_json(s: Suggestion) -> dict[str, Any]:
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


def _show_suggestions(found: list[Suggestion]) -> None:
    output.table(
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
        raise UsageError("--add and --json do not go together")
    if add and not yes and not sys.stdin.isatty():
        raise UsageError("--add needs a terminal to pick on; --yes tracks every listed one")
    found = _suggestions(app.store, app.config, limit)
    if as_json:
        output.emit_json([_suggestion_json(s) for s in found])
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
    callback=parse_cadence,
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
    parsed = importers.read(file, fmt)
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
    config = init_mod.first_run(path, given, interactive=interactive, force=force)
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
            progress = progress_bar()
            from syncd import engine

            results = engine.sync_all(store, config, None, progress)
            if progress:
                click.echo("", err=True)
            for r in results:
                click.echo(r.summary() if r.ok else f"weakties: error: {r.account}: {r.error}")
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
        install_service(config, explicit_config(), start=True)
    else:
        click.echo(
            "Later: 'weakties service install --now' keeps weakties watching in the "
            "background; 'weakties status' shows who is due."
        )
