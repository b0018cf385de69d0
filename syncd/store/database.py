"""Opening the database: the URL, the SQLite file's modes, the engine, migrations.

* SQLite by default, in WAL mode with a busy timeout so the CLI and a running
  daemon never trip over each other; the file is created 0600 in a 0700
  directory. PostgreSQL through psycopg 3 (``syncd.dburl``).
* Migrations (Alembic) are applied automatically when the schema is behind.
* :func:`dialect_insert` is the one place that knows which SQL dialect is in
  use (both supported dialects spell ``INSERT ... ON CONFLICT`` the same way
  through SQLAlchemy, but each has its own construct).
* :func:`sqlite_reader` opens an existing SQLite file whose schema is current
  with the standard library's ``sqlite3`` alone, for the read commands: they
  then never import SQLAlchemy (a quarter of a second of start-up).

SQLAlchemy is imported inside the functions that need it, so importing this
module (for :data:`SCHEMA_HEAD`) costs nothing.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syncd.errors import Unavailable

if TYPE_CHECKING:
    from sqlalchemy import Engine

#: The newest migration in syncd/migrations/versions (a test keeps them in step).
SCHEMA_HEAD = "0004cal"
_MIGRATIONS = Path(__file__).parent.parent / "migrations"


def _prepare_sqlite_file(path: Path) -> None:
    """Create the file 0600 before SQLite does. Its directory must exist, except the
    default data directory, which is created 0700: a typo in a path creates no tree."""
    if not path.parent.is_dir():
        from syncd.config import default_data_dir

        default = default_data_dir()
        if path.parent.absolute() != default.absolute():
            raise Unavailable(
                f"database {path}: the directory {path.parent} does not exist "
                f"(create it, e.g. mkdir -m 700 -p {path.parent})"
            )
        default.mkdir(parents=True, mode=0o700, exist_ok=True)
    if path.is_symlink():  # dangling or not: never create or open through one
        raise Unavailable(
            f"database {path} is a symbolic link; point [database] url at the file itself"
        )
    if not path.exists():
        flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW
        os.close(os.open(path, flags, 0o600))
    make_private(path)


def make_private(path: Path) -> None:
    """A database file others can read is made 0600 again (it holds who you write to)."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        os.chmod(path, 0o600)
        logging.getLogger("weakties.store").warning(
            "database %s was readable by others (mode %o); made it 0600", path, mode
        )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _migrate(engine: Engine) -> None:
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        current = None
        if inspect(conn).has_table("alembic_version"):
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if current == SCHEMA_HEAD:
        return
    from alembic import command
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def dialect_insert(engine: Engine) -> Callable[..., Any]:
    """The dialect's INSERT, which knows ON CONFLICT (SQLite and PostgreSQL)."""
    if engine.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    raise Unavailable(f"database {engine.dialect.name} is not supported (sqlite, postgresql)")


def open_engine(url: str) -> Engine:
    """The engine for ``url``, its schema created or upgraded; :class:`Unavailable` if not."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.exc import SQLAlchemyError

    from syncd import dburl

    try:  # a plain path is a SQLite file; the password is masked in every message
        parsed = dburl.parse(url)
        dburl.check_driver(parsed)
    except dburl.DatabaseURLError as exc:
        raise Unavailable(str(exc)) from None
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite and parsed.database and parsed.database != ":memory:":
        try:
            _prepare_sqlite_file(Path(parsed.database).expanduser())
        except OSError as exc:
            raise Unavailable(f"database {parsed.database}: {exc.strerror}") from None
    try:
        engine = create_engine(
            parsed, connect_args={"timeout": 15} if is_sqlite else {"connect_timeout": 15}
        )
        if is_sqlite:
            event.listen(engine, "connect", _sqlite_pragmas)
        _migrate(engine)
    except SQLAlchemyError as exc:
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())  # one line
        raise Unavailable(
            f"database {dburl.mask(parsed)}: {exc.__class__.__name__}: {reason}"
        ) from None
    return engine


def _plain_sqlite_path(url: str) -> Path | None:
    """The file a plain SQLite URL names, without SQLAlchemy's URL parser; None for
    anything else (another database, query parameters, memory), which takes the
    general path."""
    text = url.strip()
    if "://" not in text:
        return Path(text).expanduser().absolute() if text else None
    for prefix in ("sqlite:///", "sqlite+pysqlite:///"):
        if text.startswith(prefix):
            rest = text[len(prefix) :]
            if not rest or "?" in rest or rest == ":memory:":
                return None
            return Path(rest).expanduser().absolute()
    return None


def sqlite_reader(url: str) -> sqlite3.Connection | None:
    """A stdlib connection to the SQLite file ``url`` names, when that file exists
    and its schema is at :data:`SCHEMA_HEAD`; None otherwise (the caller then
    opens the engine, which creates or migrates). Autocommit: readers open
    their own short read transactions."""
    path = _plain_sqlite_path(url)
    if path is None or path.is_symlink() or not path.is_file():
        return None  # the engine path refuses a symlink in one line
    make_private(path)
    try:
        conn = sqlite3.connect(path, timeout=15, isolation_level=None, check_same_thread=False)
    except sqlite3.Error:
        return None
    try:
        conn.execute("PRAGMA busy_timeout=15000")
        version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        conn.close()
        return None
    if version is None or version[0] != SCHEMA_HEAD:
        conn.close()
        return None
    return conn
