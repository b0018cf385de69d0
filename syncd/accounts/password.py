"""Password logins, shared by the types that use one (IMAP, CalDAV).

Where the password comes from (the account's ``password_command``, its 0600
``password_file``, else the keyring) and what ``weakties auth`` does with
one: explain, when the account names its own source; otherwise ask, check it
against the server and store it in the keyring; and ``init``'s questions
about where it lives.
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Callable
from typing import Protocol

import click

from connectors.base import ConnectorError
from syncd import secrets
from syncd.accounts.base import AuthRequest, GaveUp, Questions, toml_value


class PasswordSettings(Protocol):
    """The keys every password-based account type has."""

    @property
    def username(self) -> str: ...
    @property
    def password_command(self) -> list[str] | None: ...
    @property
    def password_file(self) -> str | None: ...


def password(name: str, s: PasswordSettings) -> str:
    """Account ``name``'s password; ConnectorError (one line) when there is none to be had."""
    try:
        return secrets.get_secret(name, s.password_command, s.password_file)
    except secrets.SecretError as exc:
        raise ConnectorError(str(exc)) from None


def authorize(
    name: str,
    s: PasswordSettings,
    request: AuthRequest,
    where: str,
    check: Callable[[str], None],
) -> str:
    """``weakties auth`` for a password account: ask, ``check`` (log in once; raises
    ConnectorError), store in the keyring. ``where`` names the server for the prompt.

    An account that reads its password from a command or a file is not asked:
    the keyring would never be read for it, so the answer says what to change.
    """
    if s.password_command:
        return (
            f"{name}: the password comes from password_command "
            f"({shlex.join(s.password_command)}); 'weakties sync --account {name}' "
            "checks it. To keep it in the keyring instead, remove password_command from "
            "the account and run 'weakties auth' again"
        )
    if s.password_file:
        return (
            f"{name}: the password comes from password_file ({s.password_file}); "
            "edit that file (mode 0600) to change it. To keep it in the keyring instead, "
            "remove password_file from the account and run 'weakties auth' again"
        )
    secrets.ensure_keyring()  # fail before asking, not after
    secret = request.ask_secret(f"Password for {s.username} on {where}")
    check(secret)
    secrets.store_secret(name, secret)
    return f"{name}: password checked and stored in the keyring"


#: Password managers init proposes, when their program is installed: argv for an account.
PASSWORD_PROGRAMS: dict[str, list[str]] = {
    "secret-tool": ["secret-tool", "lookup", "service", "mail", "account", "{name}"],
    "pass": ["pass", "show", "mail/{name}"],
    "gopass": ["gopass", "show", "-o", "mail/{name}"],
    "op": ["op", "read", "op://Private/{name}/password"],
    "bw": ["bw", "get", "password", "{name}"],
}


def installed_password_commands(name: str) -> list[list[str]]:
    """The :data:`PASSWORD_PROGRAMS` whose program is on PATH, filled in for ``name``."""
    return [
        [arg.format(name=name) for arg in argv]
        for program, argv in PASSWORD_PROGRAMS.items()
        if shutil.which(program)
    ]


def config_lines(
    name: str, password_command: list[str] | None, password_file: str | None, example: str
) -> list[str]:
    """The commented lines of an ``[[account]]`` table saying where its password
    comes from; ``example``: the ``pass`` entry the keyring case suggests."""
    if password_command:
        return [
            "# The password is the first line this command prints (run without a shell):",
            f"password_command = {toml_value(password_command)}",
        ]
    if password_file:
        return [
            "# The password is in this file (yours alone: mode 0600):",
            f"password_file = {toml_value(password_file)}",
        ]
    return [
        f'# The password is in the system keyring (service "weakties", user {toml_value(name)});',
        f"# 'weakties auth {name}' replaces it. Or name a command that prints it:",
        f'# password_command = ["pass", "show", {toml_value(example)}]',
    ]


def ask_source(name: str) -> tuple[list[str] | None, str | None]:
    """Ask where the password lives: (password_command, password_file), both None for
    the keyring. Proposes only commands whose program is installed."""
    choices: list[str] = []
    try:
        secrets.ensure_keyring()
        choices.append("keyring")
    except secrets.SecretError as exc:
        click.echo(f"  {exc}")
    commands = installed_password_commands(name)
    choices += ["command", "file"]
    where = click.prompt(
        "Keep the password in the system keyring, read it from a command "
        "(a password manager), or from a file only you can read?",
        type=click.Choice(choices),
        default=choices[0],
    )
    if where == "command":
        proposal = shlex.join(commands[0]) if commands else None
        if not commands:
            click.echo(
                "  none of " + ", ".join(PASSWORD_PROGRAMS) + " is installed; "
                "give any command that prints the password"
            )
        text = click.prompt("Command that prints the password", default=proposal)
        return shlex.split(text), None
    if where == "file":
        path = click.prompt(
            "File holding the password (mode 0600)",
            default=f"~/.config/weakties/{name}.pass",
        )
        return None, path
    return None, None


def secret_to_check(
    name: str,
    command: list[str] | None,
    file: str | None,
    q: Questions,
    prompt: str,
) -> str:
    """The password init checks the login with: from the command or file the answers
    name, else typed (interactive) or read from stdin (``--password-stdin``)."""
    if command:
        return secrets.run_password_command(command, name)
    if file:
        return secrets.read_password_file(file, name)
    if q.interactive:
        return str(click.prompt(prompt, hide_input=True))
    if q.given.password is None:
        raise GaveUp(
            "give the password on stdin with --password-stdin, or --password-command, "
            "or --password-file",
            exit_code=2,
        )
    secrets.ensure_keyring()  # fail before anything is written
    return q.given.password
