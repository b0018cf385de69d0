"""The PostgreSQL test harness: password auth, TLS with certificate checks, 127.0.0.1 only,
and a clean stop."""

from __future__ import annotations

import subprocess

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from tests.postgres import Postgres, start_postgres


def _ssl(url: str) -> bool:
    engine = sa.create_engine(url, connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as conn:
            return bool(
                conn.execute(
                    sa.text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                ).scalar()
            )
    finally:
        engine.dispose()


def test_fresh_database_is_empty_and_owned_by_the_test_role(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            assert sa.inspect(conn).get_table_names() == []
            conn.execute(sa.text("CREATE TABLE t (x int)"))  # the role may create tables
            assert conn.execute(sa.text("SELECT current_user")).scalar() == "weakties"
    finally:
        engine.dispose()


def test_verify_full_against_the_test_ca(postgres: Postgres) -> None:
    url = postgres.new_database(tls=True)
    try:
        assert _ssl(url)
        with pytest.raises(OperationalError, match="certificate verify failed"):
            _ssl(url.replace(str(postgres.ca_file), str(postgres.wrong_ca_file)))
    finally:
        postgres.drop_database(url)


def test_a_wrong_password_is_refused(postgres: Postgres, postgres_url: str) -> None:
    name = postgres_url.rsplit("/", 1)[1]
    with pytest.raises(OperationalError, match="password authentication failed"):
        _ssl(postgres.url(name, password="not-the-password"))


def test_listens_on_loopback_only(postgres: Postgres) -> None:
    with postgres.admin() as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        assert conn.execute("SHOW password_encryption").fetchone() == ("scram-sha-256",)


def test_stop_leaves_no_server_behind(tmp_path_factory: pytest.TempPathFactory) -> None:
    server = start_postgres()
    data_dir = str(server.data_dir)
    assert server.running()
    server.stop()
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    assert data_dir not in ps.stdout
    assert not server.root.exists()
