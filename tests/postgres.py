"""A throwaway PostgreSQL server for the tests, and its pytest fixtures.

This module owns running a private PostgreSQL (Debian's ``postgresql``
package: ``initdb`` and ``pg_ctl``) for one test session:

* everything lives in a new temporary directory (data, log, a unix socket,
  a throwaway TLS certificate from ``tests.dovecot``'s test CA);
* it listens on 127.0.0.1 only, on a free port, and on the unix socket;
* every connection authenticates with a password (``scram-sha-256``), for a
  superuser the harness uses and for the unprivileged role ``weakties`` the
  tests connect as; TLS is on, so ``sslmode=verify-full`` with
  ``sslrootcert`` can be tested (the certificate is valid for ``localhost``
  and ``127.0.0.1``);
* run as root, the server runs as the ``postgres`` system user (PostgreSQL
  refuses to run as root); otherwise as the current user.

Fixtures (registered in ``tests/conftest.py``)::

    def test_x(postgres_url: str) -> None:       # a fresh, empty database
        store = open_store(postgres_url)          # postgresql+psycopg://weakties:...@127.0.0.1:PORT/t_N

    def test_y(postgres: Postgres) -> None:       # the server itself
        url = postgres.new_database(tls=True)     # ... ?sslmode=verify-full&sslrootcert=ca.pem

Without the binaries (or without psycopg) the fixtures skip with a message
naming what to install.
"""

from __future__ import annotations

import atexit
import itertools
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.dovecot import _free_ports, _make_certificates

HOST = "127.0.0.1"
ROLE = "weakties"
ADMIN = "harness"
#: Where Debian's postgresql-NN packages put the server binaries (newest first wins).
BIN_GLOB = "/usr/lib/postgresql/*/bin"
_STARTUP_TIMEOUT = 30
_databases = itertools.count(1)


class PostgresNotInstalledError(RuntimeError):
    """initdb / pg_ctl or the psycopg driver are missing."""


@dataclass
class Postgres:
    """A running throwaway server; stop with :meth:`stop` (idempotent)."""

    root: Path
    bin_dir: Path
    port: int
    password: str  # the ``weakties`` role's
    admin_password: str
    ca_file: Path
    wrong_ca_file: Path
    socket_dir: Path
    log_path: Path
    _run_as: list[str] = field(default_factory=list)
    _stopped: bool = False

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(
        self,
        database: str,
        *,
        tls: bool = False,
        password: str | None = None,
        wrong_ca: bool = False,
    ) -> str:
        """A SQLAlchemy URL for ``database`` as the ``weakties`` role over TCP."""
        secret = quote(self.password if password is None else password, safe="")
        url = f"postgresql+psycopg://{ROLE}:{secret}@{HOST}:{self.port}/{database}"
        if tls:
            ca = self.wrong_ca_file if wrong_ca else self.ca_file
            url += f"?sslmode=verify-full&sslrootcert={ca}"
        return url

    def admin(self) -> Any:
        """An autocommit psycopg connection as the superuser, to the ``postgres`` database."""
        import psycopg

        return psycopg.connect(
            host=HOST,
            port=self.port,
            user=ADMIN,
            dbname="postgres",
            password=self.admin_password,
            connect_timeout=10,
            autocommit=True,
        )

    def new_database(self, *, tls: bool = False) -> str:
        """Create an empty database owned by ``weakties``; returns its URL."""
        name = f"t_{os.getpid()}_{next(_databases)}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" OWNER "{ROLE}"')
        return self.url(name, tls=tls)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1].split("?", 1)[0]
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def running(self) -> bool:
        result = subprocess.run(
            [*self._run_as, str(self.bin_dir / "pg_ctl"), "status", "-D", str(self.data_dir)],
            capture_output=True,
            timeout=30,
            check=False,
        )
        return result.returncode == 0

    def stop(self, *, remove_files: bool = True) -> None:
        if not self._stopped:
            self._stopped = True
            if (self.data_dir / "postmaster.pid").exists():
                subprocess.run(
                    [
                        *self._run_as,
                        str(self.bin_dir / "pg_ctl"),
                        "stop",
                        "-D",
                        str(self.data_dir),
                        "-m",
                        "fast",
                        "-w",
                        "-t",
                        "30",
                    ],
                    capture_output=True,
                    timeout=60,
                    check=False,
                )
        if remove_files:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Postgres:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def find_binaries() -> Path:
    """The newest ``/usr/lib/postgresql/NN/bin`` with initdb and pg_ctl."""
    import glob

    candidates = sorted(
        (Path(p) for p in glob.glob(BIN_GLOB)),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    found = shutil.which("initdb"), shutil.which("pg_ctl")
    if all(found):
        return Path(str(found[0])).parent
    raise PostgresNotInstalledError(
        "PostgreSQL's initdb/pg_ctl not found: install the Debian package postgresql (see .ci/run)"
    )


def _check_driver() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise PostgresNotInstalledError(
            "the psycopg driver is missing: pip install 'weakties[postgres]'"
        ) from None


def _owner() -> tuple[list[str], int, int]:
    """(command prefix, uid, gid) to run the server as: never as root."""
    if os.geteuid() != 0:
        return [], os.getuid(), os.getgid()
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresNotInstalledError(
            "no 'postgres' system user to run the server as: install the Debian package postgresql"
        ) from None
    return ["runuser", "-u", "postgres", "--"], user.pw_uid, user.pw_gid


_HBA = """\
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  scram-sha-256
host    all       all   127.0.0.1/32   scram-sha-256
"""


def _settings(port: int, socket_dir: Path, tls_dir: Path) -> str:
    return "\n".join(
        [
            "",
            "# weakties test harness",
            f"listen_addresses = '{HOST}'",
            f"port = {port}",
            f"unix_socket_directories = '{socket_dir}'",
            "password_encryption = 'scram-sha-256'",
            "ssl = on",
            f"ssl_cert_file = '{tls_dir / 'server.pem'}'",
            f"ssl_key_file = '{tls_dir / 'server-pg.key'}'",
            "max_connections = 60",
            "shared_buffers = 32MB",
            # A throwaway server: durability is not worth the test time.
            "fsync = off",
            "synchronous_commit = off",
            "full_page_writes = off",
            "log_connections = on",
            "log_disconnections = on",
            "",
        ]
    )


def start_postgres(root: Path | None = None) -> Postgres:
    """initdb a new cluster in ``root`` (default: a new temp dir), start it, wait for it."""
    _check_driver()
    bin_dir = find_binaries()
    run_as, uid, gid = _owner()
    if root is None:
        root = Path(tempfile.mkdtemp(prefix="weakties-pg-"))
    root.mkdir(parents=True, exist_ok=True)
    os.chown(root, uid, gid)
    root.chmod(0o700)
    _, wrong_ca, _, _ = certs = _make_certificates(root / "tls")
    ca_file, _, _, key_file = certs
    pg_key = root / "tls" / "server-pg.key"  # the server insists on owning a 0600 key
    shutil.copyfile(key_file, pg_key)
    os.chown(pg_key, uid, gid)
    pg_key.chmod(0o600)
    socket_dir = root / "sock"
    socket_dir.mkdir(mode=0o700)
    os.chown(socket_dir, uid, gid)
    admin_password, password = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    pwfile = root / "pwfile"
    pwfile.write_text(admin_password + "\n")
    os.chown(pwfile, uid, gid)
    pwfile.chmod(0o600)
    data_dir = root / "data"
    result = subprocess.run(
        [
            *run_as,
            str(bin_dir / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            ADMIN,
            "--pwfile",
            str(pwfile),
            "--auth",
            "scram-sha-256",
            "-E",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    pwfile.unlink()
    if result.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {result.stderr.strip() or result.stdout.strip()}")
    (data_dir / "pg_hba.conf").write_text(_HBA)
    base_conf = (data_dir / "postgresql.conf").read_text()
    log_path = root / "postgres.log"
    log_path.touch()
    os.chown(log_path, uid, gid)

    last_error = ""
    for _attempt in range(5):
        [port] = _free_ports(1)
        (data_dir / "postgresql.conf").write_text(
            base_conf + _settings(port, socket_dir, root / "tls")
        )
        server = Postgres(
            root=root,
            bin_dir=bin_dir,
            port=port,
            password=password,
            admin_password=admin_password,
            ca_file=ca_file,
            wrong_ca_file=wrong_ca,
            socket_dir=socket_dir,
            log_path=log_path,
            _run_as=run_as,
        )
        start = subprocess.run(
            [
                *run_as,
                str(bin_dir / "pg_ctl"),
                "start",
                "-D",
                str(data_dir),
                "-l",
                str(log_path),
                "-w",
                "-t",
                str(_STARTUP_TIMEOUT),
                "-s",
            ],
            capture_output=True,
            text=True,
            timeout=_STARTUP_TIMEOUT + 30,
            check=False,
            start_new_session=True,
        )
        if start.returncode == 0:
            atexit.register(server.stop)
            try:
                _create_role(server)
            except Exception:
                server.stop()
                raise
            return server
        server.stop(remove_files=False)
        last_error = f"pg_ctl start failed: {start.stderr.strip()}\n{server.log_tail()}"
        if "already in use" not in last_error:
            break
    shutil.rmtree(root, ignore_errors=True)
    raise RuntimeError(last_error)


def _create_role(server: Postgres) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    while True:
        try:
            conn = server.admin()
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    with conn:
        conn.execute(f"CREATE ROLE \"{ROLE}\" LOGIN PASSWORD '{server.password}'")


# --- fixtures (re-exported by tests/conftest.py) -----------------------------


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A running throwaway PostgreSQL on 127.0.0.1, stopped at the end of the session."""
    try:
        server = start_postgres()
    except PostgresNotInstalledError as exc:
        pytest.skip(str(exc))
    with server:
        yield server


@pytest.fixture
def postgres_url(postgres: Postgres) -> Iterator[str]:
    """A fresh, empty database owned by ``weakties``; dropped after the test."""
    url = postgres.new_database()
    yield url
    postgres.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on a fresh SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        (tmp_path / "data").mkdir(mode=0o700, exist_ok=True)
        return f"sqlite:///{tmp_path}/data/weakties.db"
    url: str = request.getfixturevalue("postgres_url")
    return url
