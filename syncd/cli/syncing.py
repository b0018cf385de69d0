"""``weakties sync`` and ``weakties auth``: reading the accounts, authorizing them."""

from __future__ import annotations

import click

from syncd.cli.root import (
    App,
    main,
    pass_app,
    progress_bar,
)
from syncd.config import Config
from syncd.errors import ConfigError, UsageError
from syncd.store import Store


@main.command()
@click.option("--once", is_flag=True, hidden=True)  # accepted, changes nothing: sync is one pass
@click.option("--account", "only", metavar="NAME", help="Sync only this account.")
@pass_app
def sync(app: App, once: bool, only: str | None) -> None:
    """Read new mail headers from the accounts once, record who you exchanged
    mail with, and exit.

    One pass, always: to keep polling, run 'weakties daemon' (or install it with
    'weakties service install'). The old '--once' is still accepted and means
    the same. Exit status 1 if any account failed (the others still sync).
    """
    if not app.config.accounts:
        raise ConfigError(f"{app.config.path}: no [[account]] configured")
    if only:
        app.config.account(only)  # unknown name -> ConfigError before any work
    if not sync_and_report(app.store, app.config, only):
        raise SystemExit(1)


def sync_and_report(store: Store, config: Config, only: str | None = None) -> bool:
    """One pass with a progress bar (on a terminal) and a line per account (errors on
    stderr); True when every account synced."""
    from syncd import engine  # the connectors: only when syncing

    progress = progress_bar()
    results = engine.sync_all(store, config, only, progress)
    if progress:
        click.echo("", err=True)
    for r in results:
        click.echo(r.summary(), err=not r.ok)
    return all(r.ok for r in results)


@main.command()
@click.argument("account", required=False)
@click.option("--digest", is_flag=True, help="The email digest's SMTP password instead.")
@click.option(
    "--database",
    is_flag=True,
    help="Store the PostgreSQL password of [database] url in the keyring instead.",
)
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
def auth(
    app: App, account: str | None, digest: bool, database: bool, no_browser: bool, port: int
) -> None:
    """Authorize ACCOUNT: a password for IMAP and CalDAV (checked against the server,
    kept in the keyring), Google's consent page for Gmail. ``--digest``: the digest's
    SMTP password; ``--database``: the shared database's password."""
    if (account is not None) + digest + database != 1:
        raise UsageError("name an ACCOUNT, or give --digest or --database (one of them)")
    if digest:
        from syncd.cli.reach import auth_digest

        auth_digest(app)
        return
    if database:
        from syncd.cli.database import store_password

        store_password(app)
        return
    assert account is not None
    from syncd.accounts import AuthRequest, entry

    acct = app.config.account(account)
    request = AuthRequest(
        ask_secret=lambda prompt: str(click.prompt(prompt, hide_input=True, err=True)),
        say=lambda line: click.echo(line, err=True),
        open_browser=not no_browser,
        port=port,
    )
    click.echo(entry(acct).authorize(acct, request))
