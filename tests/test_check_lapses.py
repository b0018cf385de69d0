"""``weakties check-lapses`` end to end on a real database: the command and log backends,
telling once, retrying what could not be delivered, quiet hours (in-process, on the
fixtures' store), config errors."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from syncd import alerts
from syncd.model import Direction
from syncd.notify.log import LogNotifier
from syncd.store import Store, open_store
from tests.factories import DAY, NOW, ConfigFactory, ContactFactory, InteractionsFactory
from tests.helpers import Env, make_env
from tests.test_daemon import RECORDER, lines

HOSTILE = '$(touch pwned); <a href="http://evil">Bob</a> `id`'


def command_env(tmp_path: Path, command: list[str] | None = None, extra: str = "") -> Env:
    told = tmp_path / "told.jsonl"
    command = command or [
        sys.executable,
        "-c",
        RECORDER,
        str(told),
        "{name}",
        "{email}",
        "{days}",
        "{direction}",
        "{kind}",
        "{count}",
    ]
    return make_env(
        tmp_path,
        extra=f'[defaults]\ncadence = "90d"\n[notify]\nbackend = "command"\n'
        f"command = {json.dumps(command)}\n{extra}",
    )


def add_lapsed(env: Env, name: str, email: str, days: int = 100) -> None:
    assert env.run("contact", "add", name, "--email", email).exit_code == 0
    at = (datetime.now(UTC) - timedelta(days=days)).isoformat()
    assert env.run("touch", name, "--at", at).exit_code == 0


def test_command_backend_tells_once_with_every_placeholder(tmp_path: Path) -> None:
    env = command_env(tmp_path)
    add_lapsed(env, "Priya", "priya@example.org", days=100)
    first = env.run("check-lapses")
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [
        "told (command): Time to get in touch with Priya",
        "  You were last in touch with Priya 3 months ago.",
    ]
    assert lines(tmp_path / "told.jsonl") == [
        ["Priya", "priya@example.org", "100", "touch", "lapse", "1"]
    ]
    second = env.run("check-lapses")
    assert second.stdout == "Nobody to tell about.\n"
    assert len(lines(tmp_path / "told.jsonl")) == 1  # told once


def test_command_gets_text_from_mail_as_one_argument_never_through_a_shell(tmp_path: Path) -> None:
    env = command_env(tmp_path)
    add_lapsed(env, HOSTILE, "bob@example.org")
    result = env.run("check-lapses")
    assert result.exit_code == 0, result.output
    [argv] = lines(tmp_path / "told.jsonl")
    assert argv[0] == HOSTILE
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_several_lapses_are_one_digest(tmp_path: Path) -> None:
    env = command_env(tmp_path)
    for name in ("Ann", "Ben", "Cat"):
        add_lapsed(env, name, f"{name.lower()}@example.org", days=120)
    result = env.run("check-lapses")
    assert result.stdout.splitlines()[0] == "told (command): 3 people to get back in touch with"
    [argv] = lines(tmp_path / "told.jsonl")
    assert argv[0] == "Ann, Ben, Cat" and argv[-1] == "3"


def test_a_failing_command_is_an_error_and_is_tried_again(tmp_path: Path) -> None:
    env = command_env(tmp_path, [sys.executable, "-c", "import sys; sys.exit(3)", "{name}"])
    add_lapsed(env, "Priya", "priya@example.org")
    first = env.run("check-lapses")
    assert first.exit_code == 1
    assert (
        first.stderr.strip()
        .splitlines()[-1]
        .startswith("weakties: error: could not deliver through the command backend")
    )
    assert "Traceback" not in first.output
    again = env.run("check-lapses")
    assert again.exit_code == 1  # not recorded as told: it is tried again


def test_dry_run_sends_and_records_nothing(tmp_path: Path) -> None:
    env = command_env(tmp_path)
    add_lapsed(env, "Priya", "priya@example.org")
    dry = env.run("check-lapses", "--dry-run")
    assert dry.stdout.startswith("would tell: Time to get in touch with Priya")
    assert lines(tmp_path / "told.jsonl") == []
    assert env.run("check-lapses").stdout.startswith("told (command)")


def test_quiet_hours_hold_alerts_until_they_end(
    store: Store,
    make_config: ConfigFactory,
    make_contact: ContactFactory,
    make_interactions: InteractionsFactory,
) -> None:
    config = make_config(notify={"backend": "log", "quiet_hours": "22:00-08:00"})
    make_contact(store, "Priya", created=NOW - 400 * DAY)
    make_interactions(store, "priya@example.org", (Direction.SENT, NOW - 100 * DAY))
    night = NOW.astimezone(timezone(timedelta(hours=-5))).replace(hour=23, minute=30)
    held = alerts.check(store, config, LogNotifier(), now=NOW, local_now=night)
    assert held.held and not held.delivered and len(held.alerts) == 1
    morning = night.replace(hour=8, minute=5)
    told = alerts.check(store, config, LogNotifier(), now=NOW, local_now=morning)
    assert len(told.delivered) == 1 and not told.held
    assert alerts.check(store, config, LogNotifier(), now=NOW, local_now=morning).alerts == []


def test_log_backend(tmp_path: Path) -> None:
    env = make_env(tmp_path, extra='[defaults]\ncadence = "90d"\n[notify]\nbackend = "log"\n')
    add_lapsed(env, "Priya", "priya@example.org")
    result = env.run("check-lapses")
    assert result.exit_code == 0
    assert result.stdout.startswith("told (log): Time to get in touch with Priya")


def test_notify_config_errors_are_one_line(tmp_path: Path) -> None:
    for extra, expected in (
        ('[notify]\nbackend = "command"\n', "notify.command: required when backend"),
        (
            '[notify]\nbackend = "command"\ncommand = ["x", "{nmae}"]\n',
            "notify.command: unknown placeholder {nmae}",
        ),
        ('[notify]\nquiet_hours = "late"\n', 'notify.quiet_hours: expected "HH:MM-HH:MM"'),
        (
            '[notify]\nreply_after = "never"\n',
            "notify.reply_after: expected a duration such as '90d' or \"off\"",
        ),
        (
            '[daemon]\npoll_interval = "0s"\n',
            "daemon.poll_interval: must be between 1 second and 1 day",
        ),
        ('[daemon]\npoll_intreval = "5min"\n', "daemon.poll_intreval: unknown key"),
    ):
        result = make_env(tmp_path, extra=extra).run("check-lapses")
        assert result.exit_code == 2, result.output
        [line] = result.stderr.splitlines()
        assert expected in line, line


def test_reply_owed_names_their_subject_and_ends_with_a_reply(
    tmp_path: Path, make_interactions: InteractionsFactory
) -> None:
    env = command_env(
        tmp_path, [sys.executable, "-c", RECORDER, str(tmp_path / "told.jsonl"), "{kind}", "{body}"]
    )
    assert env.run("contact", "add", "Priya", "--email", "priya@example.org").exit_code == 0
    store = open_store(f"sqlite:///{env.db}")
    now = datetime.now(UTC)
    subject = "Dinner <b>next</b> week?"
    try:
        make_interactions(
            store, "priya@example.org", (Direction.RECEIVED, now - 21 * DAY), subject=subject
        )
        assert env.run("check-lapses").exit_code == 0
        assert lines(tmp_path / "told.jsonl") == [
            [
                "reply",
                "Priya wrote 3 weeks ago and you have not replied: “Dinner <b>next</b> week?”",
            ]
        ]
        make_interactions(store, "priya@example.org", (Direction.SENT, now - DAY), subject=subject)
        assert env.run("check-lapses").stdout == "Nobody to tell about.\n"
    finally:
        store.close()
