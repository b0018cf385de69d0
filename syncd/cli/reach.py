"""``weakties digest``: the email digest now (``--now``, ``--dry-run``) or when it is next due;
and the password prompt behind ``weakties auth --digest``."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from syncd import digest_send, mailout, secrets
from syncd.cli.root import App, main, pass_app
from syncd.errors import ConfigError, Unavailable


@main.command()
@click.option("--now", "send_now", is_flag=True, help="Send it now (works with every = off).")
@click.option("--dry-run", is_flag=True, help="Print the mail instead of sending it.")
@pass_app
def digest(app: App, send_now: bool, dry_run: bool) -> None:
    """The email digest: who is overdue, replies owed, who comes due next."""
    d = app.config.digest
    if not (send_now or dry_run):
        last = app.store.digest_sent()
        when = f"{d.every} at {d.at}" if d.period else "off"
        click.echo(
            f"digest: {when}; last sent {last.astimezone():%a %d %b %H:%M}"
            if last
            else f"digest: {when}; never sent"
        )
        return
    outcome = digest_send.send_digest(app.store, app.config, datetime.now(UTC), dry_run=dry_run)
    if outcome.message is None:
        click.echo("Nothing to say: nobody overdue, no reply owed, nobody coming due.")
        return
    if dry_run:
        click.echo(outcome.message.as_string(), nl=False)
        return
    click.echo(f"digest sent to {d.to}: {outcome.message['Subject']}")


def auth_digest(app: App) -> None:
    """Prompt for the digest's SMTP password, check it by logging in, keep it in the keyring."""
    config = app.config
    if config.digest.account is not None:
        raise ConfigError(
            f"{config.path}: digest.account = {config.digest.account!r}: the digest uses that "
            f"account's password ('weakties auth {config.digest.account}')"
        )
    settings = digest_send.smtp_settings(config)
    if settings.username is None:
        raise ConfigError(f"{config.path}: digest.username: missing (the SMTP login name)")
    secrets.ensure_keyring()
    password = click.prompt(
        f"SMTP password for {settings.username} on {settings.host}", hide_input=True, err=True
    )
    try:
        mailout.check_login(settings, password)
    except mailout.SendError as exc:
        raise Unavailable(f"digest: {exc}") from None
    secrets.store_secret(digest_send.KEYRING_ENTRY, password)
    click.echo("digest: SMTP password checked and stored in the keyring")
