"""``weakties db status``, ``weakties db copy`` and ``weakties auth --database`` against
a real PostgreSQL server (tests/postgres.py): moving 100,000 interactions up from
SQLite with nothing lost or changed, the PostgreSQL password kept in the keyring,
and the bad cases (wrong password, server down, unknown driver, a full target):
one line each, a non-zero exit, nothing written."""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bench.scale import build
from syncd.cli import main
from syncd.store import SCHEMA_HEAD
from tests.helpers import make_env
from tests.postgres import Postgres


def run(config: Path, url: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(
        main,
        ["--config", str(config), *args],
        input=input,
        env={"WEAKTIES_DB": url},
        catch_exceptions=False,
    )


def rows(config: Path, url: str) -> dict[str, int]:
    result = run(config, url, "db", "status", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema"] == data["schema_head"]
    counts: dict[str, int] = data["rows"]
    return counts


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tables(postgres: Postgres, url: str) -> list[str]:
    import psycopg

    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    with psycopg.connect(
        host="127.0.0.1",
        port=postgres.port,
        user="harness",
        password=postgres.admin_password,
        dbname=name,
        connect_timeout=10,
    ) as conn:
        found = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return sorted(t for (t,) in found)


def one_line_error(result: Result, *absent: str, prompted: bool = False) -> str:
    assert result.exit_code != 0, result.output
    lines = result.stderr.strip().splitlines()[1 if prompted else 0 :]
    assert len(lines) == 1 and lines[0].startswith("weakties: error: "), result.stderr
    assert "Traceback" not in result.output
    for secret in absent:
        assert secret not in result.output
    return lines[0]


def test_db_copy_moves_100000_interactions_and_status_is_unchanged(
    tmp_path: Path, postgres: Postgres, postgres_url: str
) -> None:
    env = make_env(tmp_path, identity=("me@example.com",), extra='[notify]\nbackend = "log"\n')
    source = tmp_path / "db" / "weakties.db"
    build(source, 100_000)
    lite = f"sqlite:///{source}"
    assert (
        run(env.config, lite, "contact", "add", "Zoe", "--email", "zoe@example.org").exit_code == 0
    )
    assert run(env.config, lite, "snooze", "Zoe", "30d").exit_code == 0
    before = run(env.config, lite, "status", "--json")
    assert before.exit_code == 0
    counts = rows(env.config, lite)
    assert counts["interactions"] == 100_000 and counts["contacts"] == 1_001
    untouched = digest(source)

    copied = run(env.config, lite, "db", "copy", "--to", postgres_url)
    assert copied.exit_code == 0, copied.output
    assert "counts checked" in copied.stdout and postgres.password not in copied.output
    assert "interactions: 100000 rows" in copied.stderr  # progress, on stderr

    assert rows(env.config, postgres_url) == counts
    after = run(env.config, postgres_url, "status", "--json")
    assert after.exit_code == 0
    assert json.loads(after.stdout) == json.loads(before.stdout)
    assert digest(source) == untouched  # the old database stays as it was

    # the copy takes writes: its id sequences were moved past the copied ids
    added = run(env.config, postgres_url, "contact", "add", "Yan", "--email", "yan@example.org")
    assert added.exit_code == 0, added.output

    again = run(env.config, lite, "db", "copy", "--to", postgres_url)
    line = one_line_error(again)
    assert "not empty" in line and again.exit_code == 2
    assert rows(env.config, postgres_url)["contacts"] == 1_002  # nothing more written


def test_db_status_shows_the_url_without_its_password(
    tmp_path: Path, postgres: Postgres, postgres_url: str
) -> None:
    env = make_env(tmp_path)
    assert (
        run(
            env.config, postgres_url, "contact", "add", "Ada", "--email", "ada@example.org"
        ).exit_code
        == 0
    )
    shown = run(env.config, postgres_url, "db", "status")
    assert shown.exit_code == 0, shown.output
    assert postgres.password not in shown.output
    assert "weakties:***@" in shown.stdout and f"schema: {SCHEMA_HEAD}" in shown.stdout
    [contacts] = [line for line in shown.stdout.splitlines() if line.startswith("contacts ")]
    assert contacts.split() == ["contacts", "1"]


def test_auth_database_keeps_the_checked_password_in_the_keyring(
    tmp_path: Path, postgres: Postgres, postgres_url: str, test_keyring: Path
) -> None:
    bare = postgres_url.split("://", 1)[0] + "://weakties@" + postgres_url.split("@", 1)[1]
    env = make_env(tmp_path)
    env.config.write_text(env.config.read_text() + f'\n[database]\nurl = "{bare}"\n')
    cli = CliRunner()

    def weakties(*args: str, input: str | None = None) -> Result:
        return cli.invoke(
            main,
            ["--config", str(env.config), *args],
            input=input,
            env={"WEAKTIES_DB": None, "PGPASSWORD": None, "PGPASSFILE": str(tmp_path / "none")},
            catch_exceptions=False,
        )

    no_password = weakties("status")
    assert no_password.exit_code == 1 and "password" in no_password.stderr
    wrong = weakties("auth", "--database", input="not-it\n")
    one_line_error(wrong, "not-it", prompted=True)
    assert "password authentication failed" in wrong.stderr
    assert not test_keyring.exists()  # a refused password is not stored
    right = weakties("auth", "--database", input=postgres.password + "\n")
    assert right.exit_code == 0, right.output
    assert postgres.password not in right.output
    assert json.loads(test_keyring.read_text()) == {
        "weakties/database:weakties@127.0.0.1": postgres.password
    }
    assert weakties("contact", "add", "Ada", "--email", "ada@example.org").exit_code == 0
    assert weakties("status").exit_code == 0
    both = weakties("auth", "mail", "--database")
    assert both.exit_code == 2 and "one of them" in both.stderr
    env.config.write_text(env.config.read_text().replace(bare, f"sqlite:///{tmp_path}/x.db"))
    lite = weakties("auth", "--database", input="never-asked\n")
    line = one_line_error(lite)  # said before any prompt
    assert "only for a PostgreSQL URL" in line


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("case", ["wrong password", "server down", "unknown driver"])
def test_a_bad_database_is_one_line_and_nothing_is_written(
    tmp_path: Path, postgres: Postgres, postgres_url: str, case: str
) -> None:
    name = postgres_url.rsplit("/", 1)[1]
    bad = {
        "wrong password": postgres.url(name, password="not-the-password"),
        "server down": postgres_url.replace(f":{postgres.port}/", f":{free_port()}/"),
        "unknown driver": postgres_url.replace("postgresql+psycopg://", "postgresql+pg8000://"),
    }[case]
    expected = {
        "wrong password": "password authentication failed",
        "server down": "refused",
        "unknown driver": "driver pg8000 is not supported",
    }[case]
    env = make_env(tmp_path)
    lite = f"sqlite:///{env.db}"
    assert (
        run(env.config, lite, "contact", "add", "Ada", "--email", "ada@example.org").exit_code == 0
    )
    untouched = digest(env.db)
    for args in (
        ("status",),
        ("contact", "add", "Bo", "--email", "bo@example.org"),
        ("db", "status"),
    ):
        line = one_line_error(run(env.config, bad, *args), "not-the-password", postgres.password)
        assert expected in line and "***" in line
    copy = run(env.config, lite, "db", "copy", "--to", bad)
    line = one_line_error(copy, "not-the-password", postgres.password)
    assert expected in line and copy.exit_code == 1
    assert digest(env.db) == untouched
    assert tables(postgres, postgres_url) == []  # the real database was never written
