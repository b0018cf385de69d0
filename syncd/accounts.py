"""The account types weakties knows, and how to open a connector for each.

This is the one place where ``syncd`` meets the concrete connectors: the
config validates an account table against its type's settings dataclass, and
the engine asks :func:`open_connector` for a logged-in :class:`Connector`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from connectors import caldav_settings, gmail_settings, ics_settings, imap
from connectors.base import Connector, ConnectorError
from syncd import tokens
from syncd.config import Account
from syncd.secrets import SecretError, ensure_keyring, get_secret

log = logging.getLogger("weakties.accounts")


@dataclass(frozen=True)
class AccountType:
    settings: type  # the dataclass an [[account]] table is checked against
    open: Callable[[Account], Connector]


def _open_imap(account: Account) -> Connector:
    settings: imap.ImapSettings = account.settings
    try:
        password = get_secret(account.name, settings.password_command, settings.password_file)
    except SecretError as exc:
        raise ConnectorError(str(exc)) from None
    return imap.connect(settings, password)


def _gmail_saver(account: Account) -> Callable[[str], None]:
    settings: gmail_settings.GmailSettings = account.settings

    def save(token_json: str) -> None:
        try:
            tokens.save_token(account.name, settings.token_file, token_json)
        except SecretError as exc:  # not fatal: the next pass refreshes again
            log.warning("%s", exc)

    return save


def _open_gmail(account: Account) -> Connector:
    from connectors import gmail  # google-api-python-client: only when needed

    settings: gmail_settings.GmailSettings = account.settings
    try:
        token_json = tokens.load_token(account.name, settings.token_file)
    except SecretError as exc:
        raise ConnectorError(str(exc)) from None
    return gmail.connect(
        settings,
        token_json,
        save_token=_gmail_saver(account),
        auth_hint=f"run 'weakties auth {account.name}' again",
    )


def _open_caldav(account: Account) -> Connector:
    from connectors import caldav  # caldav and niquests: only when needed

    settings: caldav_settings.CaldavSettings = account.settings
    try:
        password = get_secret(account.name, settings.password_command, settings.password_file)
    except SecretError as exc:
        raise ConnectorError(str(exc)) from None
    return caldav.connect(settings, password)


def _open_ics(account: Account) -> Connector:
    from connectors import ics  # icalendar: only when needed

    return ics.connect(account.settings)


ACCOUNT_TYPES: dict[str, AccountType] = {
    "imap": AccountType(settings=imap.ImapSettings, open=_open_imap),
    "gmail": AccountType(settings=gmail_settings.GmailSettings, open=_open_gmail),
    "caldav": AccountType(settings=caldav_settings.CaldavSettings, open=_open_caldav),
    "ics": AccountType(settings=ics_settings.IcsSettings, open=_open_ics),
}


def open_connector(account: Account) -> Connector:
    """A logged-in connector for the account; raises ConnectorError."""
    return ACCOUNT_TYPES[account.type].open(account)


def check_login(account: Account, secret: str) -> None:
    """Log in once with ``secret`` (for ``weakties auth``); raises ConnectorError."""
    if account.type != "imap":
        raise ConnectorError(f"account {account.name!r}: type {account.type} has no password")
    imap.connect(account.settings, secret).close()


def authorize_gmail(
    account: Account, *, open_browser: bool = True, port: int = 0, timeout: float | None = None
) -> str:
    """Run Google's consent flow for a gmail account, check it, store the token.

    Returns the mailbox address. Raises ConnectorError or SecretError.
    """
    from connectors import gmail

    settings: gmail_settings.GmailSettings = account.settings
    if not settings.token_file:
        ensure_keyring()  # fail before the browser dance, not after
    creds = gmail.authorize(
        os.path.expanduser(settings.client_secrets),
        open_browser=open_browser,
        port=port,
        timeout=timeout,
    )
    with gmail.connect(
        settings, creds.to_json(), auth_hint=f"run 'weakties auth {account.name}' again"
    ) as connector:
        address = connector.address()
        tokens.save_token(account.name, settings.token_file, connector.credentials.to_json())
    return address
