"""Every input gets a clear answer (issue 13): the CLI's replies to odd or mistaken input."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import Env, make_env


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path, identity=("me@example.com",), extra='[defaults]\ncadence = "90d"\n')


def ok(env: Env, *args: str) -> str:
    result = env.run(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def error(env: Env, *args: str, code: int = 2) -> str:
    """Run a command that must fail: one ``weakties: error:`` line, no traceback."""
    result = env.run(*args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.stderr.startswith("weakties: error: "), result.stderr
    return result.stderr


# --- row 20: contact edit with nothing to change; the stored name is echoed ------


def test_edit_without_options_changes_nothing(env: Env) -> None:
    ok(env, "contact", "add", "Priya", "--email", "priya@example.org", "--cadence", "6mo")
    before = env.json("contact", "list")
    message = error(env, "contact", "edit", "priya")
    assert "nothing to change" in message and "updated" not in message
    assert env.json("contact", "list") == before
    assert "exit status 2" in ok(env, "contact", "edit", "--help").replace("\n", " ")


def test_messages_echo_the_stored_name(env: Env) -> None:
    assert ok(env, "contact", "add", "  Diego Ramos ", "--email", "d@example.org") == (
        "added Diego Ramos\n"
    )
    assert ok(env, "contact", "edit", "diego ramos", "--add-tag", "x") == "updated Diego Ramos\n"
    assert "with Diego Ramos on" in ok(env, "touch", "DIEGO RAMOS")
    assert ok(env, "snooze", "diego ramos", "3d").startswith("Diego Ramos snoozed until")
    assert ok(env, "contact", "edit", "diego RAMOS", "--name", "Diego R") == "updated Diego R\n"
    assert ok(env, "contact", "rm", "diego r") == "removed Diego R\n"
