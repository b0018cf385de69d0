"""The ``gmail`` account type: a Gmail mailbox read through the Gmail API.

Its registry entry: settings (``connectors.gmail_settings``, light: the Google
client is imported only when a Gmail account syncs or authorizes), opening
with the stored OAuth token (refreshed tokens are saved back), ``weakties
auth`` (Google's consent page, the token kept in the keyring or a 0600 token
file), the token file's directory for the service, and ``init``'s questions.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import click

from connectors.base import Connector, ConnectorError
from connectors.gmail_settings import GmailSettings
from syncd import secrets, tokens
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

log = logging.getLogger("weakties.accounts")

DEFAULT_CLIENT_SECRETS = "~/.config/weakties/client_secret.json"


def _hint(account: Account[GmailSettings]) -> str:
    return f"run 'weakties auth {account.name}' again"


def _saver(account: Account[GmailSettings]) -> Callable[[str], None]:
    def save(token_json: str) -> None:
        try:
            tokens.save_token(account.name, account.settings.token_file, token_json)
        except secrets.SecretError as exc:  # not fatal: the next pass refreshes again
            log.warning("%s", exc)

    return save


def _open(account: Account[GmailSettings]) -> Connector:
    from connectors import gmail  # google-api-python-client: only when needed

    try:
        token_json = tokens.load_token(account.name, account.settings.token_file)
    except secrets.SecretError as exc:
        raise ConnectorError(str(exc)) from None
    return gmail.connect(
        account.settings, token_json, save_token=_saver(account), auth_hint=_hint(account)
    )


def authorize_gmail(
    account: Account[GmailSettings],
    *,
    open_browser: bool = True,
    port: int = 0,
    timeout: float | None = None,
) -> str:
    """Run Google's consent flow, check the token with one call, store it.

    Returns the mailbox address. Raises ConnectorError or SecretError.
    """
    from connectors import gmail

    settings = account.settings
    if not settings.token_file:
        secrets.ensure_keyring()  # fail before the browser dance, not after
    creds = gmail.authorize(
        os.path.expanduser(settings.client_secrets),
        open_browser=open_browser,
        port=port,
        timeout=timeout,
    )
    with gmail.connect(settings, creds.to_json(), auth_hint=_hint(account)) as connector:
        address = connector.address()
        tokens.save_token(account.name, settings.token_file, connector.credentials.to_json())
    return address


def _authorize(account: Account[GmailSettings], request: AuthRequest) -> str:
    if not request.open_browser:
        request.say(
            "Open the URL below in a browser. The browser must reach this "
            "machine's loopback port (on a remote box: ssh -L PORT:localhost:PORT, "
            "with a fixed --port)."
        )
    address = authorize_gmail(account, open_browser=request.open_browser, port=request.port)
    where = account.settings.token_file or "the keyring"
    return f"{account.name}: authorized for {address} (read-only metadata); token stored in {where}"


def _writable(settings: GmailSettings) -> list[Path]:
    if not settings.token_file:
        return []
    return [Path(settings.token_file).expanduser().absolute().parent]


# --- init ---------------------------------------------------------------------


def gmail_note() -> str:
    """What init says about the two ways to read a Gmail address."""
    return (
        "Gmail: read it through the Gmail API (sign in with Google, no app password; "
        "needs your own OAuth client file, see README 'Gmail (API)'; then "
        "'weakties auth ACCOUNT'), or over IMAP with an app password (faster for a big "
        "first sync)."
    )


def client_secrets_problem(path: str) -> str | None:
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


def config_lines(name: str, client_secrets: str, api_endpoint: str | None = None) -> list[str]:
    """The account's commented ``[[account]]`` table."""
    out = [
        "",
        "[[account]]",
        f"name = {toml_value(name)}",
        'type = "gmail"',
        "# Your own OAuth desktop client (README.md, Gmail (API)):",
        f"client_secrets = {toml_value(client_secrets)}",
    ]
    if api_endpoint:
        out.append(f"api_endpoint = {toml_value(api_endpoint)}")
    return [
        *out,
        f'# The authorization is in the system keyring (service "weakties", user '
        f"{toml_value(name)});",
        f"# 'weakties auth {name}' renews it. Or keep it in a file (written 0600):",
        '# token_file = "~/.config/weakties/gmail-token.json"',
        "# Quota units a minute weakties may spend (Google allows 6,000 per user):",
        "# quota_per_minute = 5000",
    ]


def wanted(q: Questions) -> bool:
    """Whether this Gmail address is read through the API (asked, or given by a flag)."""
    secrets_path = q.given.gmail_client_secrets
    if not q.interactive:
        return secrets_path is not None
    click.echo(gmail_note())
    known = secrets_path or Path(DEFAULT_CLIENT_SECRETS).expanduser().exists()
    how = click.prompt(
        "Gmail API or IMAP?",
        type=click.Choice(["api", "imap"]),
        default="api" if known else "imap",
    )
    return bool(how == "api")


def ask(q: Questions) -> NewAccount:
    """init's questions for a Gmail account read through the API (authorized after
    the config is written)."""
    secrets_path = q.given.gmail_client_secrets
    if q.interactive:
        while True:
            secrets_path = click.prompt(
                "OAuth client file", default=secrets_path or DEFAULT_CLIENT_SECRETS
            )
            problem = client_secrets_problem(secrets_path)
            if problem is None:
                break
            click.echo(f"  {problem}")
    elif secrets_path is None:
        raise GaveUp("--gmail-client-secrets: required for the Gmail API", exit_code=2)
    elif problem := client_secrets_problem(secrets_path):
        raise GaveUp(f"--gmail-client-secrets: {problem}", exit_code=2)
    name = q.given.name or unique_name("gmail", q.taken)
    if q.interactive:
        name = click.prompt("A short name for this account", default=name)
    lines = config_lines(name, secrets_path, q.given.gmail_api_endpoint)
    return NewAccount(name, "gmail", lines, authorize_after=True)


ENTRY: AccountType[GmailSettings] = AccountType(
    name="gmail",
    source="mail",
    settings=GmailSettings,
    open=_open,
    authorize=_authorize,
    writable=_writable,
    ask=ask,
    auth_help="Gmail: opens Google's consent page (read-only metadata) and stores the token.",
)
