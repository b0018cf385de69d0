"""The first-run dialogue of ``weakties init``: addresses, accounts, secrets, the config.

Owns the order of the questions: the addresses, then the mail accounts, then
(optionally) the calendars. Each account's own questions, its live check and
its config text belong to its type's registry entry (``syncd.accounts``);
flags given on the command line become the defaults, and with
``interactive=False`` the answers. It ends with a written, re-loaded config;
the CLI then runs the first sync and the suggestions. When the user gives up
on an account, init prints the ``init --non-interactive`` line that gives the
answers so far again.

An existing config is never replaced without asking: interactively the
user may keep it (and go on to sync and suggestions), replace it (the old
one is kept as ``config.toml.bak``) or stop; non-interactively init refuses
unless ``force``.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import click

from connectors.base import ConnectorError
from syncd import config as config_mod
from syncd import configfile, files, providers, secrets
from syncd.accounts import REGISTRY, AuthRequest, GaveUp, Given, NewAccount
from syncd.accounts import gmail as gmail_entry
from syncd.accounts import imap as imap_entry
from syncd.accounts.base import Questions
from syncd.addresses import normalize

__all__ = ["GaveUp", "Given", "first_run"]

gmail_note = gmail_entry.gmail_note


def existing_config(path: Path, interactive: bool, force: bool) -> str:
    """'write' (nothing there, or replace it) or 'keep'; never silently destroys."""
    if not path.exists():
        return "write"
    if not interactive:
        if force:
            return "write"
        raise GaveUp(
            f"{path} exists already; 'weakties init --force' replaces it "
            f"(keeping a copy as {files.backup_path(path).name})",
            exit_code=2,
        )
    click.echo(f"A config exists already: {path}")
    answer = click.prompt(
        f"Keep it, replace it (a copy is kept as {files.backup_path(path).name}), or quit?",
        type=click.Choice(["keep", "replace", "quit"]),
        default="keep",
    )
    if answer == "quit":
        raise click.Abort()
    return "keep" if answer == "keep" else "write"


def _split_addresses(text: str) -> list[str]:
    return [a for a in (p.strip() for p in text.replace(";", ",").split(",")) if a]


def ask_addresses(given: Given, interactive: bool) -> list[str]:
    if not interactive:
        if not given.addresses:
            raise GaveUp("--address is required with --non-interactive", exit_code=2)
        bad = [a for a in given.addresses if normalize(a) is None]
        if bad:
            raise GaveUp(f"--address: not an e-mail address: {bad[0]!r}", exit_code=2)
        return given.addresses
    default = ", ".join(given.addresses) or os.environ.get("EMAIL", "")
    while True:
        text = click.prompt(
            "Your e-mail addresses (comma-separated, aliases too)", default=default or None
        )
        addresses = _split_addresses(text)
        bad = [a for a in addresses if normalize(a) is None]
        if addresses and not bad:
            return addresses
        click.echo(f"  not an e-mail address: {bad[0]!r}" if bad else "  at least one, please")


def ask_mail_account(
    given: Given, default_username: str, taken: set[str], interactive: bool
) -> NewAccount:
    """One mail account: the login, then the questions of its type (Gmail through the
    API when the address is a Gmail one and the user wants it, else IMAP)."""
    username = given.username or default_username
    if interactive:
        username = click.prompt(
            "Mail account to read (its login, usually your address)", default=username or None
        )
    q = Questions(given, frozenset(taken), interactive, username)
    gmail_address = providers.guess(username).gmail or given.gmail_client_secrets
    if gmail_address and gmail_entry.wanted(q):
        return gmail_entry.ask(q)
    return imap_entry.ask(q)


def ask_calendars(given: Given, taken: set[str], interactive: bool) -> list[NewAccount]:
    """The calendars, after the mail accounts: meetings count as contact."""
    kinds = {
        name: e.ask for name, e in REGISTRY.items() if e.source == "calendar" and e.ask is not None
    }
    found: list[NewAccount] = []
    if not interactive:
        if given.ics:
            found.append(kinds["ics"](Questions(Given(ics=given.ics), frozenset(taken), False)))
        return found
    while click.confirm(
        "Add a calendar? (people you met count as contact: CalDAV, or an .ics address)",
        default=False,
    ):
        kind = click.prompt("Which kind", type=click.Choice(sorted(kinds)), default="caldav")
        q = Questions(Given(), frozenset(taken | {a.name for a in found}), True)
        try:
            found.append(kinds[kind](q))
        except GaveUp as exc:
            click.echo(f"  {exc}; no calendar added")
    return found


def _reproduce(addresses: list[str], flags: list[str]) -> str:
    """The ``weakties init`` line that gives these answers again."""
    words = ["weakties", "init", "--non-interactive"]
    for address in addresses:
        words += ["--address", address]
    return shlex.join(words + flags)


def first_run(path: Path, given: Given, *, interactive: bool, force: bool) -> config_mod.Config:
    """The dialogue; returns the written (or kept) config, loaded and validated."""
    if interactive:
        import readline  # noqa: F401  # line editing (arrows, Home) in the prompts
    if existing_config(path, interactive, force) == "keep":
        return config_mod.load(path)
    addresses = ask_addresses(given, interactive)
    accounts: list[NewAccount] = []
    while True:
        try:
            account = ask_mail_account(
                given if not accounts else Given(),
                addresses[0] if not accounts else "",
                {a.name for a in accounts},
                interactive,
            )
        except GaveUp as exc:
            if interactive and exc.flags and not accounts:
                click.echo(f"To try these answers again: {_reproduce(addresses, exc.flags)}")
            raise
        accounts.append(account)
        if not interactive or not click.confirm("Add another account?", default=False):
            break
    accounts += ask_calendars(given, {a.name for a in accounts}, interactive)
    passwords = {a.name: a.secret for a in accounts if a.secret is not None}
    for name, password in passwords.items():
        secrets.store_secret(name, password)
    kept = files.write_private(path, configfile.render(addresses, accounts), keep_backup=True)
    click.echo(f"Wrote {path}" + (f" (the old one is now {kept})" if kept else ""))
    if passwords:
        click.echo(f"Stored the password{'s' if len(passwords) > 1 else ''} in the keyring.")
    config = config_mod.load(path)
    for new in accounts:
        if new.authorize_after:
            authorize(config.account(new.name))
    return config


def authorize(account: config_mod.Account[object]) -> None:
    """Authorize an account just written to the config (Google's consent page for Gmail)."""
    click.echo(
        f"Authorizing {account.name!r}: a browser opens the provider's consent "
        "page (or open the URL below)."
    )
    request = AuthRequest(
        ask_secret=lambda prompt: str(click.prompt(prompt, hide_input=True)),
        say=lambda line: click.echo(line, err=True),
    )
    try:
        line = REGISTRY[account.type].authorize(account, request)
    except (ConnectorError, secrets.SecretError) as exc:
        raise GaveUp(
            f"{exc} (the config is written; 'weakties auth {account.name}' tries again)"
        ) from None
    click.echo(line)
