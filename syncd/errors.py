"""The one exception root of weakties and the exit status each error means.

Every error a user can cause or meet is a :class:`WeaktiesError`; the CLI
catches the root once, prints ``weakties: error: <message>`` on one line and
exits with the class's ``exit_code``:

* 2: usage and configuration (a bad option, a config key, an unknown
  contact, a name taken already, an address that is not one);
* 1: runtime (a database that cannot be reached, a secret that cannot be
  read, a server that refused);
* 3: "not running" (``service status`` when the daemon is not active).

Connector errors (``connectors.base.ConnectorError``) stay in ``connectors/``,
which imports nothing of ``syncd``; the CLI maps them to exit 1.
Standard library only.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class WeaktiesError(Exception):
    """Something the user should read, in one line; ``exit_code`` says what kind.
    ``hint``, when given, is printed below it: what to do instead."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class UsageError(WeaktiesError):
    """The command line or an argument is wrong."""

    exit_code = 2


class ConfigError(UsageError):
    """The config file (or an environment variable) is wrong: names file and key."""


class StoreError(WeaktiesError):
    """A request the database cannot satisfy; the subclasses say why."""


class NotFound(StoreError):
    """No such contact (or address on a contact)."""

    exit_code = 2


def no_contact(name: str, known: Iterable[str]) -> NotFound:
    """The error for an unknown contact, with "did you mean 'Diego Ramos'?" when
    one of the ``known`` names is close to ``name`` (case-insensitively)."""
    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(name.strip().lower(), list(by_lower), n=1, cutoff=0.6)
    hint = f"; did you mean {by_lower[close[0]]!r}?" if close else ""
    return NotFound(f"no contact named {name!r}{hint}")


class AlreadyExists(StoreError):
    """A name or an address that is taken already."""

    exit_code = 2


class Invalid(StoreError):
    """A value the store refuses: an empty name, something that is not an address."""

    exit_code = 2


class Unavailable(StoreError):
    """The database cannot be opened, reached or migrated."""


class SchemaTooNew(Unavailable):
    """The database's schema was written by a newer weakties than this one."""


class SecretError(WeaktiesError):
    """A password or token cannot be read or stored (never shows the secret)."""


class NoUserSession(WeaktiesError):
    """No systemd user manager answers, so nothing can start the service."""


class NotRunning(WeaktiesError):
    """The background service is not active."""

    exit_code = 3
