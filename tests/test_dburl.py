"""Database URLs: plain paths, normalisation, masked passwords, unsupported and missing drivers."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd import dburl
from syncd.store import StoreError, open_store
from tests.postgres import Postgres


def test_a_plain_path_is_a_sqlite_file(tmp_path: Path) -> None:
    url = dburl.parse(str(tmp_path / "w.db"))
    assert (url.drivername, url.database) == ("sqlite+pysqlite", str(tmp_path / "w.db"))
    assert dburl.parse("~/w.db").database == str(Path.home() / "w.db")


@pytest.mark.parametrize(
    "text",
    [
        "postgresql://u:pw@db.example.org/w",
        "postgres://u:pw@db.example.org/w",
        "postgresql+psycopg://u:pw@db.example.org/w",
    ],
)
def test_postgres_urls_mean_psycopg(text: str) -> None:
    assert dburl.normalise(text) == "postgresql+psycopg://u:pw@db.example.org/w"


def test_ssl_parameters_pass_through() -> None:
    url = dburl.parse("postgresql://u@h/w?sslmode=verify-full&sslrootcert=/etc/ca.pem")
    assert dict(url.query) == {"sslmode": "verify-full", "sslrootcert": "/etc/ca.pem"}


@pytest.mark.parametrize(
    "text",
    [
        "postgresql://u:s3cret@h/w",
        "mysql://u:s3cret@h/w",
        "postgresql+psycopg2://u:s3cret@h/w",
        "postgresql://u:s3cret@h:x/w",
    ],
)
def test_passwords_are_masked_in_every_message(text: str) -> None:
    assert "s3cret" not in dburl.mask(text)
    try:
        dburl.parse(text)
    except dburl.DatabaseURLError as exc:
        assert "s3cret" not in str(exc) and "\n" not in str(exc)


def test_unsupported_databases_and_drivers_are_one_line() -> None:
    with pytest.raises(dburl.DatabaseURLError, match=r"mysql is not supported \(use sqlite"):
        dburl.parse("mysql://u:pw@h/w")
    with pytest.raises(dburl.DatabaseURLError, match=r"driver psycopg2 is not supported"):
        dburl.parse("postgresql+psycopg2://u:pw@h/w")
    with pytest.raises(StoreError, match="mysql is not supported"):
        open_store("mysql://u:pw@h/w")


def test_a_missing_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        dburl.DRIVERS, "psycopg", ("weakties_no_such_module", "pip install 'weakties[postgres]'")
    )
    with pytest.raises(StoreError) as info:
        open_store("postgresql://weakties:s3cret@127.0.0.1:1/w")
    assert str(info.value) == (
        "database postgresql+psycopg://weakties:***@127.0.0.1:1/w: the "
        "weakties_no_such_module driver is not installed: "
        "pip install 'weakties[postgres]'"
    )


def test_wrong_password_and_server_down_are_one_masked_line(
    postgres: Postgres, postgres_url: str
) -> None:
    name = postgres_url.rsplit("/", 1)[1]
    with pytest.raises(StoreError) as info:
        open_store(postgres.url(name, password="wr0ng-pass"))
    message = str(info.value)
    assert "password authentication failed" in message and "wr0ng-pass" not in message
    assert "\n" not in message.strip()
    with pytest.raises(StoreError, match=r"Connection refused|connection failed") as info:
        open_store(f"postgresql://weakties:wr0ng-pass@127.0.0.1:{postgres.port + 1}/x")
    assert "wr0ng-pass" not in str(info.value)
