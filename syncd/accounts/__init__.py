"""The registry of account types: one entry per type, everything about it in one place.

``REGISTRY`` maps a ``type = "..."`` word to its :class:`AccountType` (see
``base.py`` for what an entry carries); each entry lives in its own module
(``imap``, ``gmail``, ``caldav``, ``ics``). Adding an account type means
writing a connector and one entry module, and naming it here. Importing this
package loads no protocol library: each entry imports its connector when an
account of that type is opened.
"""

from __future__ import annotations

from typing import Any

from connectors.base import Connector
from syncd.accounts import caldav, gmail, ics, imap
from syncd.accounts.base import Account, AccountType, AuthRequest, GaveUp, Given, NewAccount

REGISTRY: dict[str, AccountType[Any]] = {
    entry.name: entry for entry in (imap.ENTRY, gmail.ENTRY, caldav.ENTRY, ics.ENTRY)
}

__all__ = [
    "REGISTRY",
    "Account",
    "AccountType",
    "AuthRequest",
    "GaveUp",
    "Given",
    "NewAccount",
    "entry",
    "open_connector",
]


def entry(account: Account[Any]) -> AccountType[Any]:
    """The registry entry of the account's type."""
    return REGISTRY[account.type]


def open_connector(account: Account[Any]) -> Connector:
    """A logged-in connector for the account; raises ConnectorError."""
    return entry(account).open(account)
