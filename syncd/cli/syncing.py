"""``weakties sync`` and ``weakties auth``: reading the accounts, authorizing them."""

from __future__ import annotations

import click

from syncd.cli.root import (
    App,
    main,
    pass_app,
    progress_bar,
)
from syncd.errors import ConfigError


@main.command()
@click.option("--once", is_flag=True, help="One pass, then exit (the daemon polls).")
@click.option("--account", "only", metavar="NAME", help="Sync only this account.")
@pass_app
def sync(app: App, once: bool, only: str | None) -> None:
    """Read new mail headers from the accounts and record who you exchanged mail with."""
    if not app.config.accounts:
        raise ConfigError(f"{app.config.path}: no [[account]] configured")
    if only:
        app.config.account(only)  # unknown name -> ConfigError before any work
    progress = progress_bar()
    from syncd import engine  # the connectors: only when syncing

    results = engine.sync_all(app.store, app.config, only, progress)
    if progress:
        click.echo("", err=True)
    for r in results:
        if r.ok:
            click.echo(r.summary())
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
    from syncd import secrets
    from syncd.accounts import authorize_gmail, check_login

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
