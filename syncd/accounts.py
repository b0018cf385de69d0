"""The account types weakties knows, and how to open a connector for each.

This is the one place where ``syncd`` meets the concrete connectors: the
config validates an account table against its type's settings dataclass, and
the engine asks :func:`open_connector` for a logged-in :class:`Connector`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from connectors import imap
from connectors.base import Connector, ConnectorError
from syncd.config import Account
from syncd.secrets import SecretError, get_secret


@dataclass(frozen=True)
class AccountType:
    settings: type  # the dataclass an [[account]] table is checked against
    open: Callable[[Account], Connector]


def _open_imap(account: Account) -> Connector:
    settings: imap.ImapSettings = account.settings
    try:
        password = get_secret(account.name, settings.password_command)
    except SecretError as exc:
        raise ConnectorError(str(exc)) from None
    return imap.connect(settings, password)


ACCOUNT_TYPES: dict[str, AccountType] = {
    "imap": AccountType(settings=imap.ImapSettings, open=_open_imap),
}


def open_connector(account: Account) -> Connector:
    """A logged-in connector for the account; raises ConnectorError."""
    return ACCOUNT_TYPES[account.type].open(account)


def check_login(account: Account, secret: str) -> None:
    """Log in once with ``secret`` (for ``weakties auth``); raises ConnectorError."""
    if account.type != "imap":
        raise ConnectorError(f"account {account.name!r}: type {account.type} has no password")
    imap.connect(account.settings, secret).close()

