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
* :func:`sqlite_reader` opens an existing SQLite file whose schema is current
  with the standard library's ``sqlite3`` alone, for the read commands: they
  then never import SQLAlchemy (a quarter of a second of start-up).

SQLAlchemy is imported inside the functions that need it, so importing this
module (for :data:`SCHEMA_HEAD`) costs nothing.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syncd.errors import SchemaTooNew, SecretError, Unavailable

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine, Table
    from sqlalchemy.engine import URL

#: The newest migration in syncd/migrations/versions (a test keeps them in step).
SCHEMA_HEAD = "0008mdk"
_MIGRATIONS = Path(__file__).parent.parent / "migrations"
_MIGRATION_LOCK = 0x7765616B  # "weak": the advisory lock migrations take on PostgreSQL


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


def schema_version(conn: Connection) -> str | None:
    """The schema's Alembic revision; None for a database weakties never touched."""
    from sqlalchemy import inspect, text

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
    from sqlalchemy import text

    with engine.connect() as conn:
        current = schema_version(conn)
    if current == SCHEMA_HEAD:
        return
    if current is None and engine.dialect.name == "sqlite" and _create_fresh(engine):
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


def _create_fresh(engine: Engine) -> bool:
    """A new, empty SQLite file gets its tables straight from ``schema`` and the
    version stamped, without importing Alembic or replaying every migration
    (about 0.4 s of a first sync; ``tests/test_store.py`` checks that the
    migrations build the same schema). False when the file is not empty after
    all: the migrations then decide."""
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import SQLAlchemyError

    from syncd import schema

    try:
        with engine.begin() as conn:
            if inspect(conn).get_table_names():
                return False
            schema.metadata.create_all(conn)
            conn.execute(schema.store_version.insert().values(id=1, version=0))
            conn.execute(
                text(
                    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                    "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
                )
            )
            conn.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": SCHEMA_HEAD})
    except SQLAlchemyError:  # another process created it meanwhile
        return False
    return True


def dialect_insert(engine: Engine) -> Callable[..., Any]:
    """The dialect's INSERT, which knows ON CONFLICT (SQLite and PostgreSQL)."""
    if engine.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    raise Unavailable(f"database {engine.dialect.name} is not supported (sqlite, postgresql)")


def many_rows(
    conn: Connection, insert: Callable[..., Any], table: Table, rows: list[dict[str, Any]]
) -> tuple[Any, list[dict[str, Any]] | None]:
    """An INSERT of many ``rows`` (all with the same keys) and its parameters, to
    which the caller adds ON CONFLICT and RETURNING: SQLite takes the rows as an
    executemany; PostgreSQL one short ``INSERT ... SELECT unnest(array), ...``
    with one array per column (a 500-row multi-VALUES statement costs psycopg
    tens of milliseconds of query parsing per batch, and the server its planning)."""
    if conn.dialect.name != "postgresql":
        return insert(table), rows
    from sqlalchemy import TypeDecorator, bindparam, func, select
    from sqlalchemy.dialects.postgresql import ARRAY

    columns = list(rows[0])
    arrays = []
    for name in columns:
        kind = table.c[name].type
        values = [row[name] for row in rows]
        if isinstance(kind, TypeDecorator):
            values = [kind.process_bind_param(v, conn.dialect) for v in values]
            kind = kind.impl_instance
        arrays.append(func.unnest(bindparam(f"u_{name}", values, type_=ARRAY(kind))))
    return insert(table).from_select(columns, select(*arrays)), None


def insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """A plain INSERT of many ``rows`` (all with the same keys), at driver speed.

    On SQLite the rows go straight to the DBAPI's executemany, each
    ``UTCDateTime`` as :func:`sqlite_time` (SQLAlchemy's per-row parameter
    processing was most of the cost of storing a calendar's quarter of a
    million meetings); elsewhere through :func:`many_rows`."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        statement, params = many_rows(conn, lambda t: t.insert(), table, rows)
        conn.execute(statement, params)
        return
    from syncd.schema import UTCDateTime

    columns = list(rows[0])
    times = [isinstance(table.c[name].type, UTCDateTime) for name in columns]
    values = [
        tuple(
            sqlite_time(row[name]) if is_time and row[name] is not None else row[name]
            for name, is_time in zip(columns, times, strict=True)
        )
        for row in rows
    ]
    quote = conn.dialect.identifier_preparer.quote
    names, marks = ", ".join(quote(c) for c in columns), ", ".join("?" for _ in columns)
    conn.exec_driver_sql(f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})", values)


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


def _one_line(exc: Exception) -> str:
    """The driver's message in one line; an attempt repeated (psycopg tries TLS, then
    plain) said once."""
    lines = str(getattr(exc, "orig", None) or exc).splitlines()
    return " ".join(" ".join(dict.fromkeys(line.strip() for line in lines if line.strip())).split())


def check_password(url: str, password: str | None) -> str:
    """Log in to the PostgreSQL server of ``url`` with ``password`` (nothing is
    written); its keyring entry (:func:`keyring_key`) when that works, else
    :class:`Unavailable` in one line. Without ``password``, only check that the
    URL is one a password can be kept for."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    from syncd import dburl

    try:
        parsed = dburl.parse(url)
        dburl.check_driver(parsed)
    except dburl.DatabaseURLError as exc:
        raise Unavailable(str(exc)) from None
    if parsed.get_backend_name() != "postgresql" or not parsed.username:
        raise Unavailable(
            f"database {dburl.mask(parsed)}: a password is kept only for a PostgreSQL URL "
            'naming a user ([database] url = "postgresql://USER@HOST/DB")'
        )
    if password is None:
        return keyring_key(parsed)
    engine = create_engine(parsed.set(password=password), connect_args={"connect_timeout": 15})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = _one_line(exc)
        raise Unavailable(f"database {dburl.mask(parsed)}: {reason}") from None
    finally:
        engine.dispose()
    return keyring_key(parsed)


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
        reason = _one_line(exc)
        raise Unavailable(
            f"database {dburl.mask(parsed)}: {exc.__class__.__name__}: {reason}"
        ) from None
    return engine


def sqlite_time(at: datetime) -> str:
    """An aware time as SQLAlchemy's SQLite dialect stores a ``UTCDateTime``: naive
    UTC text, ``YYYY-MM-DD HH:MM:SS.ffffff`` (so plain-SQL writes and comparisons
    on the stdlib connection order as the stored values do)."""
    return at.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


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


class PostgresReader:
    """A psycopg connection that takes the queries' ``:name`` parameters, for the
    read commands on PostgreSQL: like :func:`sqlite_reader`, no SQLAlchemy."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        if params:
            sql = re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql.replace("%", "%%"))
        return self.conn.execute(sql, params or None)

    def close(self) -> None:
        self.conn.close()


def postgres_reader(url: str) -> PostgresReader | None:
    """A psycopg connection to the PostgreSQL database ``url`` names, when the
    driver is installed, the URL or libpq (``PGPASSWORD``, ``.pgpass``) has
    its password, and the schema is at :data:`SCHEMA_HEAD`; None otherwise
    (the caller then opens the engine, which migrates, takes the keyring's
    password, or says in one line what is wrong)."""
    from urllib.parse import unquote, urlsplit

    text = url.strip()
    scheme, sep, rest = text.partition("://")
    if not sep or scheme not in ("postgresql", "postgresql+psycopg", "postgres"):
        return None
    parts = urlsplit(f"postgresql://{rest}")
    if parts.password is None and parts.username:
        wanted = _Wanted(
            parts.hostname, parts.port, unquote(parts.path.lstrip("/")), unquote(parts.username)
        )
        if not _pgpass_has(wanted):  # type: ignore[arg-type]
            return None  # the keyring's password: the engine's path
    try:
        import psycopg
    except ImportError:
        return None
    try:
        conn = psycopg.connect(f"postgresql://{rest}", autocommit=True, connect_timeout=15)
    except psycopg.Error:
        return None
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except psycopg.Error:
        conn.close()
        return None
    if row is None or row[0] != SCHEMA_HEAD:
        conn.close()
        return None
    return PostgresReader(conn)


class _Wanted:
    """What :func:`_pgpass_has` reads of a URL, parsed without SQLAlchemy."""

    def __init__(self, host: str | None, port: int | None, database: str, username: str) -> None:
        self.host, self.port, self.database, self.username = host, port, database, username
