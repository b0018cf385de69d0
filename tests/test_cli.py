"""The CLI without a mail server: contacts, status, touch, snooze, and its errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from syncd.cli import main
from tests.helpers import Env, make_env


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(
        tmp_path,
        identity=("me@example.com",),
        extra='[defaults]\ncadence = "90d"\n[tags.family]\ncadence = "14d"\n',
    )


def ok(env: Env, *args: str) -> str:
    result = env.run(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_contacts_round_trip(env: Env) -> None:
    ok(
        env,
        "contact",
        "add",
        "Priya",
        "--email",
        "priya@example.org",
        "--email",
        "p@work.example",
        "--cadence",
        "6mo",
        "--tag",
        "mentors",
    )
    ok(env, "contact", "add", "Mum", "--email", "mum@example.net", "--tag", "family")
    listed = env.json("contact", "list")
    assert listed == [
        {"name": "Mum", "emails": ["mum@example.net"], "tags": ["family"], "cadence_days": None},
        {
            "name": "Priya",
            "emails": ["priya@example.org", "p@work.example"],
            "tags": ["mentors"],
            "cadence_days": 180,
        },
    ]
    ok(
        env,
        "contact",
        "edit",
        "priya",
        "--name",
        "Priya Patel",
        "--remove-email",
        "p@work.example",
        "--cadence",
        "default",
        "--add-tag",
        "work",
    )
    [priya] = [c for c in env.json("contact", "list") if c["name"] == "Priya Patel"]
    assert (priya["emails"], priya["cadence_days"], priya["tags"]) == (
        ["priya@example.org"],
        None,
        ["mentors", "work"],
    )
    ok(env, "contact", "rm", "Mum")
    assert [c["name"] for c in env.json("contact", "list")] == ["Priya Patel"]


def test_status_cadence_touch_and_snooze(env: Env) -> None:
    ok(env, "contact", "add", "Mum", "--email", "mum@example.net", "--tag", "family")
    ok(env, "contact", "add", "Old TA", "--email", "ta@uni.example", "--cadence", "1y")
    long_ago = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    ok(env, "touch", "Mum", "--at", long_ago, "--note", "call")
    rows = env.json("status")
    assert [r["name"] for r in rows] == ["Mum", "Old TA"]  # most overdue first
    mum = rows[0]
    assert mum["cadence_days"] == 14 and mum["overdue"] is True
    assert mum["last_direction"] == "touch" and mum["last_sent"] is None
    assert datetime.fromisoformat(mum["due"]) == datetime.fromisoformat(long_ago) + timedelta(14)
    assert [r["name"] for r in env.json("status", "--overdue")] == ["Mum"]
    table = ok(env, "status")
    assert "OVERDUE by 2 weeks" in table and "in person" in table and "due in 12 months" in table

    ok(env, "snooze", "mum", "30d")
    mum = env.json("status")[-1]
    assert mum["name"] == "Mum" and mum["overdue"] is False and mum["snoozed_until"]
    assert "snoozed until" in ok(env, "status")
    ok(env, "snooze", "Mum", "off")
    assert env.json("status")[0]["overdue"] is True
    shown = env.json("contact", "show", "Mum")
    assert shown["interactions"][0]["direction"] == "touch"
    assert shown["interactions"][0]["subject"] == "call"


@pytest.mark.parametrize(
    "args, code, message",
    [
        (
            ("contact", "add", "X", "--email", "x@example.org", "--cadence", "often"),
            2,
            "bad duration 'often'",
        ),
        (("contact", "add", "X", "--email", "nope"), 2, "not an e-mail address: 'nope'"),
        (("contact", "show", "Nobody"), 2, "no contact named 'Nobody'"),
        (("touch", "Nobody"), 2, "no contact named 'Nobody'"),
        (("snooze", "Nobody", "3d"), 2, "no contact named 'Nobody'"),
        (("touch", "Nobody", "--at", "last tuesday"), 2, "not an ISO 8601 time"),
        (("sync", "--once"), 2, "no [[account]] configured"),
        (
            ("contact", "add", "X", "--email", "x@example.org", "--cadence", "0d"),
            2,
            "must be between 1 day and 100 years",
        ),
        (
            ("contact", "add", "X", "--email", "x@example.org", "--cadence", "10000y"),
            2,
            "is too long",
        ),
        (
            ("contact", "add", "X", "--email", "x@example.org", "--cadence", "6m"),
            2,
            "use 'min' for minutes or 'mo' for months",
        ),
    ],
)
def test_user_errors_are_one_line(env: Env, args: tuple[str, ...], code: int, message: str) -> None:
    result = env.run(*args)
    assert result.exit_code == code
    assert message in result.stderr and "Traceback" not in result.output


def test_durations_out_of_range_change_nothing(env: Env) -> None:
    ok(env, "contact", "add", "Priya", "--email", "priya@example.org", "--cadence", "6mo")
    for args in (("contact", "edit", "Priya", "--cadence", "0d"), ("snooze", "Priya", "100000y")):
        result = env.run(*args)
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    [priya] = env.json("status")
    assert priya["cadence_days"] == 180 and priya["snoozed_until"] is None


def test_console_script_end_to_end(tmp_path: Path) -> None:
    exe = shutil.which("weakties")
    command = [exe] if exe else [sys.executable, "-m", "syncd"]
    config = tmp_path / "config.toml"
    config.write_text("[defaults]\ncadence = 'nonsense'\n")
    environ = {
        **os.environ,
        "WEAKTIES_CONFIG": str(config),
        "WEAKTIES_DB": f"sqlite:///{tmp_path}/w.db",
    }
    bad = subprocess.run([*command, "status"], env=environ, capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr == (
        f"weakties: error: {config}: defaults.cadence: bad duration "
        "'nonsense' (use e.g. '90d', '15min', '6 months'; units s, min, h, d, "
        "w, mo, y)\n"
    )
    config.write_text("")
    added = subprocess.run(
        [*command, "contact", "add", "A", "--email", "a@example.org"],
        env=environ,
        capture_output=True,
        text=True,
    )
    assert added.returncode == 0, added.stderr
    assert (
        "A"
        in subprocess.run([*command, "status"], env=environ, capture_output=True, text=True).stdout
    )


def test_status_says_when_a_reply_is_owed(env: Env) -> None:
    from syncd.model import Direction, Interaction
    from syncd.store import open_store

    now = datetime.now(UTC)
    store = open_store(f"sqlite:///{env.db}")
    store.save_batch(
        "mail",
        [
            Interaction(
                address="ta@uni.example",
                name="Old TA",
                direction=Direction.RECEIVED,
                at=now - timedelta(days=25),
                dedupe_key="mid:<1@x>",
                message_id="<1@x>",
                subject="Paper draft",
                folder="INBOX",
            )
        ],
        {},
        now,
    )
    store.close()
    ok(env, "contact", "add", "Old TA", "--email", "ta@uni.example", "--cadence", "1y")
    [ta] = env.json("status")
    assert (ta["reply_owed"], ta["overdue"]) == (True, False)  # owed, though not yet due
    assert "due in 11 months; you owe a reply" in ok(env, "status")
    ok(env, "touch", "Old TA", "--note", "answered on the phone")
    [ta] = env.json("status")
    assert ta["reply_owed"] is False
    assert "you owe a reply" not in ok(env, "status")
    shown = ok(env, "contact", "show", "Old TA").splitlines()
    assert shown[1].split() == ["WHEN", "WHICH", "WAY", "WHERE", "SUBJECT"]
    assert shown[3].split()[2:] == ["received", "mail/INBOX", "Paper", "draft"]


def _bare_run(tmp_path: Path, *args: str) -> Result:
    """The CLI with no --config and no WEAKTIES_CONFIG: the XDG config dir in tmp_path."""
    return CliRunner().invoke(
        main,
        list(args),
        env={
            "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
            "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
            "WEAKTIES_CONFIG": None,
            "WEAKTIES_DB": None,
        },
        catch_exceptions=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ("status",),
        ("sync", "--once"),
        ("contact", "list"),
        ("contact", "add", "A", "--email", "a@example.org"),
        ("check-lapses",),
        ("service", "status"),
        ("suggest",),
    ],
)
def test_no_config_says_to_run_init(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = _bare_run(tmp_path, *args)
    default = tmp_path / "xdg-config" / "weakties" / "config.toml"
    assert result.exit_code == 2, result.output
    assert result.stderr == f"weakties: error: no config at {default}; run 'weakties init'\n"
    assert not (tmp_path / "xdg-data").exists()  # no database was created either
    nope = tmp_path / "nope.toml"
    named = _bare_run(tmp_path, "--config", str(nope), *args)
    assert named.exit_code == 2
    assert named.stderr == (
        f"weakties: error: no config at {nope}; run 'weakties --config {nope} init'\n"
    )


def test_help_needs_no_config(tmp_path: Path) -> None:
    for args in (("--help",), ("status", "--help"), ("contact", "add", "--help")):
        result = _bare_run(tmp_path, *args)
        assert result.exit_code == 0 and "Usage:" in result.stdout, result.output


def test_a_database_in_a_missing_directory_is_one_line(env: Env, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "dir" / "x.db"
    result = CliRunner().invoke(
        main,
        ["--config", str(env.config), "status"],
        env={"WEAKTIES_DB": f"sqlite:///{target}"},
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"weakties: error: database {target}: the directory {target.parent} does not exist"
    )
    assert not (tmp_path / "missing").exists()
