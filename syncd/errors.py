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


class WeaktiesError(Exception):
    """Something the user should read, in one line; ``exit_code`` says what kind."""

    exit_code = 1


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


class NotRunning(WeaktiesError):
    """The background service is not active."""

    exit_code = 3
