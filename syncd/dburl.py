"""Database URLs: parse and normalise what the user wrote, mask it for messages, check the driver.

* A plain path (``~/weakties.db``, ``/var/lib/weakties/db``) means a SQLite
  file; ``sqlite:///...`` and ``postgresql[+psycopg]://...`` are SQLAlchemy
  URLs. ``postgresql://`` and ``postgres://`` mean psycopg 3, the driver of the
  ``postgres`` extra. Query parameters (``sslmode``, ``sslrootcert``) pass through.
* :func:`mask` renders a URL with its password replaced by ``***``; every
  message that names a database uses it.
* :func:`check_driver` turns a missing driver into one line naming what to install.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

#: SQLAlchemy driver name -> (importable module, what to install).
DRIVERS = {
    "pysqlite": ("sqlite3", "a Python built with sqlite3"),
    "psycopg": ("psycopg", "pip install 'weakties[postgres]'"),
}
SUPPORTED = ("sqlite", "postgresql")


class DatabaseURLError(ValueError):
    """A database URL weakties cannot use; the message is one line, password masked."""


def parse(text: str) -> URL:
    """The SQLAlchemy URL for ``text``: a URL, or a plain path meaning a SQLite file."""
    text = text.strip()
    if not text:
        raise DatabaseURLError("the database URL is empty")
    if "://" not in text:
        return URL.create("sqlite+pysqlite", database=str(Path(text).expanduser().absolute()))
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise DatabaseURLError(f"not a database URL: {_mask_text(text)}") from None
    backend, plus, driver = url.drivername.partition("+")  # no dialect loaded yet
    if backend == "postgres":
        backend = "postgresql"
    if backend not in SUPPORTED:
        raise DatabaseURLError(
            f"database {mask(url)}: {backend} is not supported (use sqlite or postgresql)"
        )
    default = {"sqlite": "pysqlite", "postgresql": "psycopg"}[backend]
    if not plus:
        driver = default
    elif driver not in DRIVERS:
        raise DatabaseURLError(
            f"database {mask(url)}: driver {driver} is not supported (use {backend}+{default})"
        )
    return url.set(drivername=f"{backend}+{driver}")


def normalise(text: str) -> str:
    """``text`` as the full URL string (password kept) that SQLAlchemy is given."""
    return parse(text).render_as_string(hide_password=False)


def sqlite_file(text: str) -> Path | None:
    """The absolute path of the SQLite file ``text`` names; None for another database."""
    url = parse(text)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).expanduser().absolute()


def mask(url: URL | str) -> str:
    """The URL for messages and logs: the password (if any) shown as ``***``."""
    if isinstance(url, str):
        try:
            url = parse(url)
        except DatabaseURLError:
            return _mask_text(str(url))
    return url.render_as_string(hide_password=True)


def check_driver(url: URL) -> None:
    """Raise :class:`DatabaseURLError` when the URL's driver module cannot be imported."""
    driver = url.drivername.partition("+")[2]
    module, install = DRIVERS.get(driver, (driver, "its driver"))
    if importlib.util.find_spec(module) is None:
        raise DatabaseURLError(
            f"database {mask(url)}: the {module} driver is not installed: {install}"
        )


def _mask_text(text: str) -> str:
    """Mask ``user:password@`` in something that did not even parse."""
    scheme, sep, rest = text.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return text
    auth, _, host = rest.partition("@")
    user = auth.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in auth else text
