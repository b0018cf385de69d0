"""The ``caldav`` account type: calendars on a CalDAV server (meetings count as contact).

Its registry entry: settings (``connectors.caldav_settings``), opening with the
password (``syncd.accounts.password``, as for IMAP), ``weakties auth`` (the
password checked by listing the calendars), the username as one of my
addresses when it is one, and ``init``'s questions (offered after the mail
accounts).
"""

from __future__ import annotations

import urllib.parse

import click

from connectors.base import Connector, ConnectorError
from connectors.caldav_settings import CaldavSettings
from syncd import secrets
from syncd.accounts import password
from syncd.accounts.base import (
    Account,
    AccountType,
    AuthRequest,
    GaveUp,
    NewAccount,
    Questions,
    toml_value,
    unique_name,
)
from syncd.files import expand_path
from syncd.model import name_problem


def _connect(settings: CaldavSettings, secret: str) -> Connector:
    from connectors import caldav  # the caldav library: only when a calendar syncs

    return caldav.connect(settings, secret)


def _open(account: Account[CaldavSettings]) -> Connector:
    return _connect(account.settings, password.password(account.name, account.settings))


def _authorize(account: Account[CaldavSettings], request: AuthRequest) -> str:
    s = account.settings
    where = urllib.parse.urlsplit(s.url).hostname or s.url
    return password.authorize(
        account.name, s, request, where, lambda secret: _connect(s, secret).close()
    )


def _identities(settings: CaldavSettings) -> list[str]:
    return [settings.username] if "@" in settings.username else []


def config_lines(
    name: str,
    url: str,
    username: str,
    *,
    ca_file: str | None,
    password_command: list[str] | None,
    password_file: str | None,
) -> list[str]:
    """The account's commented ``[[account]]`` table."""
    out = [
        "",
        "[[account]]",
        f"name = {toml_value(name)}",
        'type = "caldav"',
        "# A calendar home (every event calendar in it) or one calendar collection:",
        f"url = {toml_value(url)}",
        f"username = {toml_value(username)}",
    ]
    if ca_file:
        out.append(f"ca_file = {toml_value(ca_file)}")
    out += password.config_lines(name, password_command, password_file, "calendar/work")
    return [
        *out,
        "# Only these calendars (their display names; default: all that hold events):",
        '# calendars = ["Work"]',
    ]


def ask(q: Questions) -> NewAccount:
    """init's questions for a CalDAV account, checked by listing its calendars."""
    given = q.given
    url = given.calendar_url or ""
    username = given.username or q.username
    command, file, ca_file = given.password_command, given.password_file, given.ca_file
    name = given.name or unique_name("calendar", q.taken)
    while True:
        if q.interactive:
            url = click.prompt("CalDAV URL (a calendar home or one calendar)", default=url or None)
            username = click.prompt("Login", default=username or None)
            ca_file = (
                click.prompt(
                    "Extra CA certificate (only for a self-signed server; Enter for none)",
                    default=ca_file or "",
                    show_default=False,
                ).strip()
                or None
            )
            name = click.prompt("A short name for this calendar account", default=name)
            if problem := name_problem(name) or (
                f"the name {name!r} is taken" if name in q.taken else None
            ):
                click.echo(f"  {problem}")
                continue
            command, file = password.ask_source(name)
        try:
            settings = CaldavSettings(
                url=url,
                username=username,
                ca_file=expand_path(ca_file, "ca_file") if ca_file else None,
                timeout=30.0,
            )
        except ValueError as exc:  # a bad URL, an unset $VAR in the CA path
            if not q.interactive:
                raise GaveUp(f"--calendar-url: {exc}", exit_code=2) from None
            click.echo(f"  {exc}")
            continue
        try:
            secret = password.secret_to_check(
                name, command, file, q, f"The password for {username}"
            )
            click.echo(f"Checking {username} on {settings.url}...", nl=False)
            _connect(settings, secret).close()
        except (ConnectorError, secrets.SecretError) as exc:
            click.echo(" failed")
            if not q.interactive or not click.confirm(
                f"  {exc}\nChange the settings and try again?", default=True
            ):
                raise GaveUp(str(exc)) from None
            continue
        click.echo(" ok")
        lines = config_lines(
            name,
            url,
            username,
            ca_file=ca_file,
            password_command=command,
            password_file=file,
        )
        return NewAccount(name, "caldav", lines, secret=None if command or file else secret)


ENTRY: AccountType[CaldavSettings] = AccountType(
    name="caldav",
    source="calendar",
    settings=CaldavSettings,
    open=_open,
    authorize=_authorize,
    identities=_identities,
    ask=ask,
    auth_help="CalDAV: asks for the password, checks it by listing the calendars, stores it.",
)
