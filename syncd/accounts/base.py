"""What an account type is: the shape of one registry entry, and the values it speaks.

An :class:`AccountType` carries everything weakties knows about one kind of
source (IMAP, Gmail, CalDAV, ``.ics``): the settings dataclass its
``[[account]]`` table is checked against, how to open a connector, how
``weakties auth`` authorizes it, which of the user's addresses it names, which
paths the service must be allowed to write, and ``weakties init``'s questions,
which end in the account's commented config text, and the login the email
digest may reuse. Nothing outside the entry
modules branches on the type's name.

Standard library and ``connectors.base`` only: ``syncd.config`` imports this
module, never the other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from connectors.base import Connector
from syncd.errors import WeaktiesError

S = TypeVar("S")

#: What a source yields: mail headers, or calendar events.
Source = Literal["mail", "calendar"]


@dataclass(frozen=True)
class Account(Generic[S]):
    """One ``[[account]]`` table: its name and type, and its type's settings."""

    name: str
    type: str
    settings: S


@dataclass(frozen=True)
class AuthRequest:
    """How ``weakties auth`` talks to the user while an entry authorizes."""

    ask_secret: Callable[[str], str]  # a prompt -> what the user typed (hidden)
    say: Callable[[str], None]  # one line of guidance (stderr)
    open_browser: bool = True  # OAuth: open the consent page, else print its URL
    port: int = 0  # OAuth: the loopback port for the redirect (0: any free)


@dataclass
class Given:
    """What ``weakties init``'s command line said: defaults for the questions, or
    (non-interactively) the answers."""

    addresses: list[str] = field(default_factory=list)
    name: str | None = None
    username: str | None = None
    host: str | None = None
    port: int | None = None
    security: str | None = None
    ca_file: str | None = None
    password_command: list[str] | None = None
    password_file: str | None = None
    password: str | None = None  # read from stdin with --password-stdin
    gmail_client_secrets: str | None = None  # a Gmail address read through the Gmail API
    gmail_api_endpoint: str | None = None  # for tests and proxies
    calendar_url: str | None = None  # a CalDAV calendar home or collection
    ics: str | None = None  # an .ics URL, file or directory


@dataclass(frozen=True)
class Questions:
    """The context of one account's init questions."""

    given: Given
    taken: frozenset[str]  # account names already used
    interactive: bool
    username: str = ""  # the login the user gave for a mail account


@dataclass(frozen=True)
class NewAccount:
    """An account ``init`` asked about: its config text and what to store for it."""

    name: str
    type: str
    lines: list[str]  # its commented [[account]] table
    secret: str | None = None  # a password for the keyring, checked already
    authorize_after: bool = False  # run the type's ``authorize`` once the config is written


@dataclass(frozen=True)
class MailLogin:
    """A mail account's login, for the digest to send with (``[digest] account``)."""

    smtp_host: str  # the SMTP server the provider most likely has
    username: str
    ca_file: str | None
    password_command: list[str] | None
    password_file: str | None


def _no_login(settings: Any) -> MailLogin | None:
    return None


@dataclass(frozen=True)
class AccountType(Generic[S]):
    """One registry entry: everything about one type of account."""

    name: str  # the ``type = "..."`` word
    source: Source
    settings: type[S]  # the dataclass an [[account]] table is checked against
    open: Callable[[Account[S]], Connector]  # a logged-in connector; raises ConnectorError
    authorize: Callable[[Account[S], AuthRequest], str]  # ``weakties auth``: the line to print
    identities: Callable[[S], list[str]] = lambda settings: []  # my addresses it names
    writable: Callable[[S], list[Path]] = lambda settings: []  # dirs the service writes
    ask: Callable[[Questions], NewAccount] | None = None  # init's questions, if init offers it
    #: the login the digest may reuse to send mail (None: this type has none to lend)
    mail_login: Callable[[S], MailLogin | None] = _no_login
    auth_help: str = ""  # what ``weakties auth`` does for it (for --help)


class GaveUp(WeaktiesError):
    """``weakties init`` stops, in one line: a failed login the user gave up on, a
    missing flag, a config it may not replace. ``flags`` are the ``init
    --non-interactive`` flags that give the answers so far again (empty when there
    are none worth repeating); ``exit_code`` 2 for usage, else 1."""

    def __init__(self, message: str, flags: list[str] | None = None, exit_code: int = 1) -> None:
        super().__init__(message)
        self.flags = flags or []
        self.exit_code = exit_code


def unique_name(name: str, taken: frozenset[str] | set[str]) -> str:
    """``name``, or ``name-2``, ``name-3``... when it is taken."""
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    return candidate


def toml_value(value: Any) -> str:
    """A TOML string, integer or array of strings (TOML shares JSON's syntax for them)."""
    import json

    return json.dumps(value, ensure_ascii=False)
