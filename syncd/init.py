"""The first-run dialogue of ``weakties init``: addresses, accounts, secrets, the config.

Owns the questions and their defaults (every question has one; flags given
on the command line become the defaults, and with ``interactive=False`` the
answers), the live login check of each account, and storing the password
(keyring, or the user's ``password_command``). It ends with a written,
re-loaded config; the CLI then runs the first sync and the suggestions.

An existing config is never replaced without asking: interactively the
user may keep it (and go on to sync and suggestions), replace it (the old
one is kept as ``config.toml.bak``) or stop; non-interactively init refuses
unless ``force``.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path

import click

from connectors import imap
from connectors.base import ConnectorError
from syncd import config as config_mod
from syncd import configfile, files, providers, secrets
from syncd.accounts import authorize_gmail, check_login
from syncd.addresses import normalize
from syncd.errors import WeaktiesError


class InitError(WeaktiesError):
    """init cannot go on; one line for the user. ``exit_code`` 2 for usage."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Given:
    """What the command line said (defaults for the questions, or the answers)."""

    addresses: list[str] = field(default_factory=list)
    name: str | None = None
    username: str | None = None
    host: str | None = None
    port: int | None = None
    security: str | None = None
    ca_file: str | None = None
    password_command: list[str] | None = None
    password: str | None = None  # read from stdin with --password-stdin
    gmail_client_secrets: str | None = None  # a Gmail address read through the Gmail API
    gmail_api_endpoint: str | None = None  # for tests and proxies


DEFAULT_CLIENT_SECRETS = "~/.config/weakties/client_secret.json"


def gmail_note() -> str:
    """What init says about the two ways to read a Gmail address."""
    return (
        "Gmail: read it through the Gmail API (sign in with Google, no app password; "
        "needs your own OAuth client file, see README 'Gmail (API)'; then "
        "'weakties auth ACCOUNT'), or over IMAP with an app password (faster for a big "
        "first sync)."
    )


def _client_secrets_ok(path: str) -> str | None:
    """None if ``path`` looks like an OAuth desktop client file, else what is wrong."""
    try:
        data = json.loads(Path(path).expanduser().read_text())
    except OSError as exc:
        return f"{path}: cannot read: {exc.strerror}"
    except ValueError:
        return f"{path}: not a JSON file"
    if not isinstance(data, dict) or not ({"installed", "web"} & data.keys()):
        return f"{path}: not an OAuth client file (download it from the Cloud console)"
    return None


def ask_gmail_api(
    given: Given, taken: set[str], interactive: bool
) -> configfile.GmailAccountDraft | None:
    """A Gmail account through the API, or None to read the address over IMAP."""
    secrets_path = given.gmail_client_secrets
    if interactive:
        click.echo(gmail_note())
        default = (
            "api" if secrets_path or Path(DEFAULT_CLIENT_SECRETS).expanduser().exists() else "imap"
        )
        how = click.prompt(
            "Gmail API or IMAP?", type=click.Choice(["api", "imap"]), default=default
        )
        if how == "imap":
            return None
        while True:
            secrets_path = click.prompt(
                "OAuth client file", default=secrets_path or DEFAULT_CLIENT_SECRETS
            )
            problem = _client_secrets_ok(secrets_path)
            if problem is None:
                break
            click.echo(f"  {problem}")
    elif secrets_path is None:
        return None
    elif problem := _client_secrets_ok(secrets_path):
        raise InitError(f"--gmail-client-secrets: {problem}", 2)
    name = given.name or _unique("gmail", taken)
    if interactive:
        name = click.prompt("A short name for this account", default=name)
    return configfile.GmailAccountDraft(
        name=name, client_secrets=secrets_path, api_endpoint=given.gmail_api_endpoint
    )


def existing_config(path: Path, interactive: bool, force: bool) -> str:
    """'write' (nothing there, or replace it) or 'keep'; never silently destroys."""
    if not path.exists():
        return "write"
    if not interactive:
        if force:
            return "write"
        raise InitError(
            f"{path} exists already; 'weakties init --force' replaces it "
            f"(keeping a copy as {files.backup_path(path).name})",
            2,
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
            raise InitError("--address is required with --non-interactive", 2)
        bad = [a for a in given.addresses if normalize(a) is None]
        if bad:
            raise InitError(f"--address: not an e-mail address: {bad[0]!r}", 2)
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


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    return candidate


def _secret(
    given: Given,
    draft: configfile.ImapAccountDraft,
    interactive: bool,
    provider: providers.Provider,
) -> tuple[list[str] | None, str]:
    """(password_command or None for the keyring, the password to check with)."""
    command = given.password_command
    if interactive and command is None:
        keyring_ok = True
        try:
            secrets.ensure_keyring()
        except secrets.SecretError as exc:
            keyring_ok = False
            click.echo(f"  {exc}")
        where = "command"
        if keyring_ok:
            where = click.prompt(
                "Keep the password in the system keyring, or read it from a "
                "command (such as 'pass show mail')?",
                type=click.Choice(["keyring", "command"]),
                default="keyring",
            )
        if where == "command":
            text = click.prompt("Command that prints the password", default="pass show mail")
            command = shlex.split(text)
    if command:
        return command, secrets.run_password_command(command, draft.name)
    if interactive:
        kind = "app password" if provider.note and "app" in provider.note else "password"
        return None, click.prompt(f"The {kind} for {draft.username}", hide_input=True)
    if given.password is None:
        raise InitError(
            "give the password on stdin with --password-stdin, or --password-command", 2
        )
    secrets.ensure_keyring()  # fail before anything is written
    return None, given.password


def ask_account(
    given: Given, default_username: str, taken: set[str], interactive: bool
) -> tuple[configfile.AccountDraft, str | None]:
    """One account: Gmail through the API, or IMAP checked with a live login;
    (draft, password for the keyring)."""
    username = given.username or default_username
    if interactive:
        username = click.prompt(
            "Mail account to read (its login, usually your address)", default=username or None
        )
    provider = providers.guess(username)
    if provider.gmail or given.gmail_client_secrets:
        gmail = ask_gmail_api(given, taken, interactive)
        if gmail is not None:
            return gmail, None
    if provider.note:
        click.echo(f"  {provider.note}")
    draft = configfile.ImapAccountDraft(
        name=given.name or _unique(provider.name, taken),
        host=given.host or provider.host,
        port=given.port or provider.port,
        security=given.security or provider.security,
        username=username,
        ca_file=given.ca_file,
    )
    while True:
        if interactive:
            draft = replace(
                draft,
                host=click.prompt("IMAP server", default=draft.host or None),
                port=click.prompt("Port", default=draft.port, type=click.IntRange(1, 65535)),
                security=click.prompt(
                    "Security", default=draft.security, type=click.Choice(["tls", "starttls"])
                ),
                ca_file=click.prompt(
                    "Extra CA certificate (only for a self-signed server; Enter for none)",
                    default=draft.ca_file or "",
                    show_default=False,
                ).strip()
                or None,
                name=click.prompt("A short name for this account", default=draft.name),
            )
            if draft.name in taken:
                click.echo(f"  the name {draft.name!r} is taken")
                draft = replace(draft, name=_unique(draft.name, taken))
                continue
        if not draft.host:
            raise InitError("--host is required for this address", 2)
        try:
            command, password = _secret(given, draft, interactive, provider)
            draft = replace(draft, password_command=command)
            click.echo(f"Checking {draft.username} on {draft.host}:{draft.port}...", nl=False)
            settings = imap.ImapSettings(
                host=draft.host,
                username=draft.username,
                port=draft.port,
                security=draft.security,  # type: ignore[arg-type]
                ca_file=draft.ca_file,
                timeout=30.0,
            )
            check_login(config_mod.Account(draft.name, "imap", settings), password)
        except (ConnectorError, secrets.SecretError) as exc:
            click.echo(" failed")
            if not interactive:
                raise InitError(str(exc)) from None
            click.echo(f"  {exc}")
            if not click.confirm("Change the settings and try again?", default=True):
                raise click.Abort() from None
            given = replace(given, password_command=None)
            continue
        click.echo(" ok")
        return draft, (None if command else password)


def first_run(path: Path, given: Given, *, interactive: bool, force: bool) -> config_mod.Config:
    """The dialogue; returns the written (or kept) config, loaded and validated."""
    if existing_config(path, interactive, force) == "keep":
        return config_mod.load(path)
    addresses = ask_addresses(given, interactive)
    accounts: list[configfile.AccountDraft] = []
    passwords: dict[str, str] = {}
    while True:
        default_username = addresses[0] if not accounts else ""
        draft, password = ask_account(
            given if not accounts else Given(),
            default_username,
            {a.name for a in accounts},
            interactive,
        )
        accounts.append(draft)
        if password is not None:
            passwords[draft.name] = password
        if not interactive or not click.confirm("Add another account?", default=False):
            break
    for name, password in passwords.items():
        secrets.store_secret(name, password)
    kept = files.write_private(path, configfile.render(addresses, accounts), keep_backup=True)
    click.echo(f"Wrote {path}" + (f" (the old one is now {kept})" if kept else ""))
    if passwords:
        click.echo(f"Stored the password{'s' if len(passwords) > 1 else ''} in the keyring.")
    config = config_mod.load(path)
    for draft in accounts:
        if isinstance(draft, configfile.GmailAccountDraft):
            authorize(config.account(draft.name))
    return config


def authorize(account: config_mod.Account) -> None:
    """Google's consent flow for a Gmail account just written to the config."""
    click.echo(
        f"Signing in to Gmail for {account.name!r}: a browser opens Google's consent "
        "page (or open the URL below)."
    )
    try:
        address = authorize_gmail(account)
    except (ConnectorError, secrets.SecretError) as exc:
        raise InitError(
            f"{exc} (the config is written; 'weakties auth {account.name}' tries again)"
        ) from None
    click.echo(f"Authorized for {address} (read-only metadata).")
