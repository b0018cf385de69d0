"""Opening the database: the URL, the SQLite file's modes, the engine, migrations.

* SQLite by default, in WAL mode with a busy timeout so the CLI and a running
  daemon never trip over each other; the file is created 0600 in a 0700
  directory. PostgreSQL through psycopg 3 (``syncd.dburl``).
* Migrations (Alembic) are applied automatically when the schema is behind
  (on PostgreSQL under an advisory lock, so two daemons starting together do
  not both migrate); a schema newer than :data:`SCHEMA_HEAD` (a revision this
  weakties does not know) is refused in one line (:class:`SchemaTooNew`).
* A PostgreSQL URL with a user but no password, and no ``PGPASSWORD`` or
  ``.pgpass`` line for it, takes the password from the keyring
  (``weakties auth --database``).
* :func:`dialect_insert` is the one place that knows which SQL dialect is in
  use (both supported dialects spell ``INSERT ... ON CONFLICT`` the same way
  through SQLAlchemy, but each has its own construct).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from syncd import dburl
from syncd.errors import SchemaTooNew, SecretError, Unavailable

#: The newest migration in syncd/migrations/versions (a test keeps them in step).
SCHEMA_HEAD = "0003s"
_MIGRATIONS = Path(__file__).parent.parent / "migrations"
_MIGRATION_LOCK = 0x7765616B  # "weak": the advisory lock migrations take on PostgreSQL


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


def schema_version(conn: Connection) -> str | None:
    """The schema's Alembic revision; None for a database weakties never touched."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    version: str | None = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return version


def _check_known(config: Any, current: str | None, url: str) -> None:
    """Refuse a schema that a newer weakties wrote: this one does not know its revision."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    if current is None:
        return
    try:
        ScriptDirectory.from_config(config).get_revision(current)
    except CommandError:
        raise SchemaTooNew(
            f"database {url}: its schema ({current}) is newer than this weakties knows "
            f"({SCHEMA_HEAD}); upgrade weakties on this machine"
        ) from None


def _migrate(engine: Engine, url: str) -> None:
    with engine.connect() as conn:
        current = schema_version(conn)
    if current == SCHEMA_HEAD:
        return
    from alembic import command
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(_MIGRATIONS))
    _check_known(config, current, url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # two daemons starting at once: one migrates
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            current = schema_version(conn)
            _check_known(config, current, url)
            if current == SCHEMA_HEAD:
                return
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


def keyring_key(url: URL) -> str:
    """The keyring entry holding the password of the URL's ``user@host``."""
    return f"database:{url.username or ''}@{url.host or 'localhost'}"


def _pgpass_has(url: URL) -> bool:
    """Whether ``PGPASSWORD`` or a ``.pgpass`` line (``PGPASSFILE``) covers this URL."""
    if os.environ.get("PGPASSWORD"):
        return True
    path = Path(os.environ.get("PGPASSFILE") or Path.home() / ".pgpass")
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return False
    wanted = [url.host or "localhost", str(url.port or 5432), url.database or "", url.username]
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.replace("\\:", "\0").split(":")[:4]
        if len(fields) == 4 and all(f in ("*", w) for f, w in zip(fields, wanted, strict=True)):
            return True
    return False


def with_keyring_password(url: URL) -> URL:
    """The URL with the keyring's password (``weakties auth --database``), when it
    names a user but no password and neither ``PGPASSWORD`` nor ``.pgpass`` gives one."""
    if url.password is not None or not url.username or _pgpass_has(url):
        return url
    from syncd import secrets

    try:
        secret = secrets.keyring_secret(keyring_key(url))
    except SecretError:
        return url  # no usable keyring: the server will say that a password is missing
    return url if secret is None else url.set(password=secret)


def open_engine(url: str) -> Engine:
    """The engine for ``url``, its schema created or upgraded; :class:`Unavailable` if not."""
    try:  # a plain path is a SQLite file; the password is masked in every message
        parsed = dburl.parse(url)
        dburl.check_driver(parsed)
    except dburl.DatabaseURLError as exc:
        raise Unavailable(str(exc)) from None
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if not is_sqlite:
        parsed = with_keyring_password(parsed)
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
        _migrate(engine, dburl.mask(parsed))
    except SQLAlchemyError as exc:
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())  # one line
        raise Unavailable(
            f"database {dburl.mask(parsed)}: {exc.__class__.__name__}: {reason}"
        ) from None
    return engine
