"""The ``imap`` account type: an IMAP mailbox read over TLS (or STARTTLS).

Its registry entry: settings (``connectors.imap_settings``), opening with the
password (``syncd.accounts.password``), ``weakties auth`` (a password checked
by one login), the username as one of my addresses, and ``init``'s questions
(server guessed from the address, a live login check, where the password
lives), which end in the account's commented config text.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace

import click

from connectors.base import Connector, ConnectorError
from connectors.imap_settings import ImapSettings
from syncd import providers, secrets
from syncd.accounts import password
from syncd.accounts.base import (
    Account,
    AccountType,
    AuthRequest,
    GaveUp,
    MailLogin,
    NewAccount,
    Questions,
    toml_value,
    unique_name,
)
from syncd.files import expand_path
from syncd.model import name_problem


def _open(account: Account[ImapSettings]) -> Connector:
    from connectors import imap  # imapclient: only when an IMAP account syncs

    return imap.connect(account.settings, password.password(account.name, account.settings))


def check_login(settings: ImapSettings, secret: str) -> None:
    """Log in once with ``secret``; raises ConnectorError."""
    from connectors import imap

    imap.connect(settings, secret).close()


def _authorize(account: Account[ImapSettings], request: AuthRequest) -> str:
    s = account.settings
    return password.authorize(
        account.name, s, request, s.host, lambda secret: check_login(s, secret)
    )


def _mail_login(s: ImapSettings) -> MailLogin:
    """The digest's SMTP login guessed from this account: ``imap.X`` -> ``smtp.X``."""
    return MailLogin(
        smtp_host="smtp." + s.host.removeprefix("imap."),
        username=s.username,
        ca_file=s.ca_file,
        password_command=s.password_command,
        password_file=s.password_file,
    )


def _identities(settings: ImapSettings) -> list[str]:
    return [settings.username] if "@" in settings.username else []


# --- init ---------------------------------------------------------------------


@dataclass(frozen=True)
class ImapDraft:
    """The answers for one IMAP account."""

    name: str
    host: str
    port: int
    security: str
    username: str
    ca_file: str | None = None
    password_command: list[str] | None = None
    password_file: str | None = None


def config_lines(d: ImapDraft) -> list[str]:
    """The account's commented ``[[account]]`` table."""
    out = [
        "",
        "[[account]]",
        f"name = {toml_value(d.name)}",
        'type = "imap"',
        f"host = {toml_value(d.host)}",
        f"port = {d.port}",
        f"security = {toml_value(d.security)}            # tls | starttls",
        f"username = {toml_value(d.username)}",
    ]
    if d.ca_file:
        out += [
            "# An extra CA certificate to trust (a self-hosted server):",
            f"ca_file = {toml_value(d.ca_file)}",
        ]
    out += password.config_lines(d.name, d.password_command, d.password_file, "mail/work")
    return [
        *out,
        "# Which folders to read (default: all but Drafts, Junk and Trash):",
        '# folders = ["INBOX", "Sent"]',
    ]


def _secret(d: ImapDraft, q: Questions, provider: providers.Provider) -> str:
    """The password to check the login with (from the draft's source, or asked)."""
    kind = "app password" if provider.note and "app" in provider.note else "password"
    return password.secret_to_check(
        d.name, d.password_command, d.password_file, q, f"The {kind} for {d.username}"
    )


def _flags(d: ImapDraft) -> list[str]:
    """The ``init --non-interactive`` flags that give these answers again."""
    out = ["--account-name", d.name, "--username", d.username, "--host", d.host]
    out += ["--port", str(d.port), "--security", d.security]
    if d.ca_file:
        out += ["--ca-file", d.ca_file]
    if d.password_command:
        out += ["--password-command", shlex.join(d.password_command)]
    elif d.password_file:
        out += ["--password-file", d.password_file]
    else:
        out += ["--password-stdin"]
    return out


def _ask_settings(d: ImapDraft, q: Questions, *, retry: bool) -> ImapDraft:
    if retry:  # after a failed login, the login itself may be what was wrong
        d = replace(d, username=click.prompt("Login", default=d.username))
    d = replace(
        d,
        host=click.prompt("IMAP server", default=d.host or None),
        port=click.prompt("Port", default=d.port, type=click.IntRange(1, 65535)),
        security=click.prompt(
            "Security", default=d.security, type=click.Choice(["tls", "starttls"])
        ),
        ca_file=click.prompt(
            "Extra CA certificate (only for a self-signed server; Enter for none)",
            default=d.ca_file or "",
            show_default=False,
        ).strip()
        or None,
    )
    while True:
        name = click.prompt("A short name for this account", default=d.name)
        problem = name_problem(name)
        if name in q.taken:
            problem = f"the name {name!r} is taken"
        if problem is None:
            break
        click.echo(f"  {problem}")
    d = replace(d, name=name)
    if (d.password_command is None and d.password_file is None) or retry:
        command, file = password.ask_source(d.name)
        d = replace(d, password_command=command, password_file=file)
    return d


def ask(q: Questions) -> NewAccount:
    """init's questions for an IMAP account, checked with a live login."""
    given = q.given
    provider = providers.guess(q.username)
    if provider.note:
        click.echo(f"  {provider.note}")
    d = ImapDraft(
        name=given.name or unique_name(provider.name, q.taken),
        host=given.host or provider.host,
        port=given.port or provider.port,
        security=given.security or provider.security,
        username=q.username,
        ca_file=given.ca_file,
        password_command=given.password_command,
        password_file=given.password_file,
    )
    retry = False
    while True:
        if q.interactive:
            d = _ask_settings(d, q, retry=retry)
        if not d.host:
            raise GaveUp("--host is required for this address", exit_code=2)
        try:
            secret = _secret(d, q, provider)
            click.echo(f"Checking {d.username} on {d.host}:{d.port}...", nl=False)
            settings = ImapSettings(
                host=d.host,
                username=d.username,
                port=d.port,
                security=d.security,  # type: ignore[arg-type]  # a Choice of the two
                ca_file=expand_path(d.ca_file, "ca_file") if d.ca_file else None,
                timeout=30.0,
            )
            check_login(settings, secret)
        except (ConnectorError, secrets.SecretError, ValueError) as exc:
            click.echo(" failed")
            if not q.interactive:
                raise GaveUp(str(exc), _flags(d)) from None
            click.echo(f"  {exc}")
            if not click.confirm("Change the settings and try again?", default=True):
                raise GaveUp(str(exc), _flags(d)) from None
            retry = True
            continue
        click.echo(" ok")
        keep = None if d.password_command or d.password_file else secret
        return NewAccount(d.name, "imap", config_lines(d), secret=keep)


ENTRY: AccountType[ImapSettings] = AccountType(
    name="imap",
    source="mail",
    settings=ImapSettings,
    open=_open,
    authorize=_authorize,
    identities=_identities,
    ask=ask,
    mail_login=_mail_login,
    auth_help="IMAP: asks for the password, checks it with one login, stores it in the keyring.",
)
