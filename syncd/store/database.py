"""Opening the database: the URL, the SQLite file's modes, the engine, migrations.

* SQLite by default, in WAL mode with a busy timeout so the CLI and a running
  daemon never trip over each other; the file is created 0600 in a 0700
  directory. PostgreSQL through psycopg 3 (``syncd.dburl``).
* Migrations (Alembic) are applied automatically when the schema is behind.
* :func:`dialect_insert` is the one place that knows which SQL dialect is in
  use (both supported dialects spell ``INSERT ... ON CONFLICT`` the same way
  through SQLAlchemy, but each has its own construct).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from syncd import dburl
from syncd.errors import Unavailable

#: The newest migration in syncd/migrations/versions (a test keeps them in step).
SCHEMA_HEAD = "0003"
_MIGRATIONS = Path(__file__).parent.parent / "migrations"


def _prepare_sqlite_file(path: Path) -> None:
    """Create the database's directory 0700 and the file 0600 before SQLite does."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _migrate(engine: Engine) -> None:
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
