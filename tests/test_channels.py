"""Several channels at once against real local servers: push through Apprise's
json:// and ntfy:// schemes to tests/http_sink.py, the desktop through the
notification server of tests/dbus_services.py on a real dbus-daemon. Each
channel is told, fails and is retried on its own; the daily budget and the
first-run sum-up; push URLs from a command or the keyring; no secret in any
output; ``check-lapses``' exit status."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import keyring
import pytest

from syncd import alerts
from syncd.config import Config
from syncd.model import Direction
from syncd.notify import make_channels
from syncd.notify.base import Notification
from syncd.notify.push import KEYRING_ENTRY
from syncd.store import Store
from tests.dbus_services import NotificationServer
from tests.factories import DAY, NOW, ConfigFactory, ContactFactory, InteractionsFactory
from tests.helpers import Env, make_env
from tests.http_sink import HttpSink

TOKEN = "tk_Zq8s3cr3tT0ken"
PASSWORD = "pw-hunter2-xyz"


@pytest.fixture
def sink() -> Iterator[HttpSink]:
    with HttpSink() as s:
        yield s


@pytest.fixture
def desktop(notification_server: NotificationServer) -> NotificationServer:
    """The notification server of ``tests/conftest.py`` (on the ``bus`` fixture)."""
    return notification_server


def json_url(sink: HttpSink, path: str = "hook") -> str:
    return f"json://127.0.0.1:{sink.port}/{path}"


def ntfy_url(sink: HttpSink, topic: str = "weakties") -> str:
    return f"ntfy://127.0.0.1:{sink.port}/{topic}"


def lapsed(
    store: Store,
    make_contact: ContactFactory,
    make_interactions: InteractionsFactory,
    name: str,
    days_ago: int,
    cadence_days: int = 30,
) -> None:
    """``name``, written to ``days_ago`` days before NOW, due every ``cadence_days``."""
    make_contact(store, name, cadence=cadence_days * DAY, created=NOW - 400 * DAY)
    make_interactions(store, f"{name.lower()}@example.org", (Direction.SENT, NOW - days_ago * DAY))


def run_check(
    store: Store, config: Config, at: datetime = NOW, *, interactive: bool = False
) -> alerts.CheckResult:
    channels = make_channels(config, interactive=interactive)
    try:
        return alerts.check(store, config, channels, now=at, local_now=at)
    finally:
        channels.close()


def titles(sink: HttpSink, path: str) -> list[str]:
    """The titles the sink received at ``path`` (json:// posts a JSON body)."""
    return [json.loads(r.body)["title"] for r in sink.requests if r.path == path]


def ntfy_titles(sink: HttpSink, topic: str) -> list[str]:
    """The titles the sink received for the ntfy ``topic`` (posted as JSON to /)."""
    found = []
    for r in sink.requests:
        payload = json.loads(r.body)
        if r.path == "/" and payload.get("topic") == topic:
            found.append(payload["title"])
    return found


# --- push -----------------------------------------------------------------------


def test_json_and_ntfy_receive_exactly_the_alerts_due_once_each(
    sink: HttpSink,
    store: Store,
    make_config: ConfigFactory,
    make_contact: ContactFactory,
    make_interactions: InteractionsFactory,
) -> None:
    config = make_config(
        notify={"backend": ["push"], "push_urls": [json_url(sink), ntfy_url(sink)]}
    )
    lapsed(store, make_contact, make_interactions, "Priya", days_ago=40)  # due since day 10
    lapsed(store, make_contact, make_interactions, "Bob", days_ago=25)  # due in 5 days
    lapsed(store, make_contact, make_interactions, "Carol", days_ago=5)  # not for weeks

    first = run_check(store, config)
    assert not first.any_failed
    assert titles(sink, "/hook") == ["Time to get in touch with Priya"]
    assert ntfy_titles(sink, "weakties") == ["Time to get in touch with Priya"]
    body = json.loads(sink.requests[0].body)["message"]
    assert body == "You last wrote to Priya 40 days ago.\nmailto:priya@example.org"

    assert run_check(store, config, NOW + 1 * DAY).alerts == []  # told: nothing again
    run_check(store, config, NOW + 6 * DAY)  # Bob comes due, Priya was told already
    assert titles(sink, "/hook") == [
        "Time to get in touch with Priya",
        "Time to get in touch with Bob",
    ]
    assert ntfy_titles(sink, "weakties") == titles(sink, "/hook")
    assert len(sink.requests) == 4  # nothing for Carol, nothing twice


def test_a_failing_push_is_retried_while_the_desktop_is_not_told_twice(
    sink: HttpSink,
    desktop: NotificationServer,
    store: Store,
    make_config: ConfigFactory,
    make_contact: ContactFactory,
    make_interactions: InteractionsFactory,
) -> None:
    config = make_config(notify={"backend": ["desktop", "push"], "push_urls": [json_url(sink)]})
    lapsed(store, make_contact, make_interactions, "Priya", days_ago=40)
    sink.status = 500

    first = run_check(store, config)
    assert first.any_failed
    assert [(c.label, c.failed) for c in first.channels] == [
        ("desktop", False),
        (f"push json://127.0.0.1:{sink.port}/****", True),
    ]
    assert [c["summary"] for c in desktop.notify_calls()] == ["Time to get in touch with Priya"]
    assert len(sink.requests) == 1  # tried, refused

    sink.status = 200
    second = run_check(store, config, NOW + timedelta(minutes=15))
    assert not second.any_failed
    assert titles(sink, "/hook") == ["Time to get in touch with Priya"] * 2  # 500, then 200
    assert len(desktop.notify_calls()) == 1  # the retry did not repeat it on the desktop

    assert run_check(store, config, NOW + timedelta(minutes=30)).alerts == []
    assert len(sink.requests) == 2 and len(desktop.notify_calls()) == 1


def cli_env(tmp_path: Path, notify: str, digest: str = "") -> Env:
    return make_env(tmp_path, extra=f'[defaults]\ncadence = "30d"\n[notify]\n{notify}\n{digest}')


def add_lapsed_cli(env: Env, name: str, days: int = 40) -> None:
    assert env.run("contact", "add", name, "--email", f"{name.lower()}@example.org").exit_code == 0
    at = (datetime.now(UTC) - timedelta(days=days)).isoformat()
    assert env.run("touch", name, "--at", at).exit_code == 0


def test_check_lapses_exits_1_when_a_channel_failed_and_shows_no_secret(
    tmp_path: Path,
    sink: HttpSink,
    desktop: NotificationServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret_url = f"json://alice:{PASSWORD}@127.0.0.1:{sink.port}/hook/{TOKEN}?token={TOKEN}"
    env = cli_env(
        tmp_path,
        f'backend = ["desktop", "push"]\npush_urls = [{json.dumps(secret_url)}]',
    )
    add_lapsed_cli(env, "Priya")
    caplog.set_level(logging.DEBUG)
    sink.status = 500
    failed = env.run("check-lapses")
    assert failed.exit_code == 1
    assert "told (desktop): Time to get in touch with Priya" in failed.stdout
    [error] = failed.stderr.splitlines()
    assert error.startswith("weakties: error: could not deliver through the push json://")
    assert len(sink.requests) == 1 and TOKEN in sink.requests[0].path  # it did travel

    sink.status = 200
    retried = env.run("check-lapses")
    assert retried.exit_code == 0, retried.output
    assert retried.stdout.splitlines()[0] == (
        f"told (push json://****:****@127.0.0.1:{sink.port}/****/****): "
        "Time to get in touch with Priya"
    )
    assert len(desktop.notify_calls()) == 1
    again = env.run("check-lapses")
    assert (again.exit_code, again.stdout) == (0, "Nobody to tell about.\n")

    logged = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert "apprise" in logged  # Apprise logged, so the check below means something
    for text in (failed.output, retried.output, again.output, logged):
        assert TOKEN not in text and PASSWORD not in text


def test_unknown_scheme_is_one_line_at_config_load_without_its_secret(tmp_path: Path) -> None:
    env = cli_env(
        tmp_path,
        f'backend = ["push"]\npush_urls = ["nosuchsvc://user:{PASSWORD}@example.org/{TOKEN}"]',
    )
    result = env.run("check-lapses")
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert "push_urls[0]" in line and "nosuchsvc" in line and "config.toml" in line
    assert TOKEN not in result.output and PASSWORD not in result.output


def url_command(tmp_path: Path, *lines: str, status: int = 0) -> list[str]:
    script = tmp_path / "urls.py"
    script.write_text(
        "import sys\n" + "".join(f"print({line!r})\n" for line in lines) + f"sys.exit({status})\n"
    )
    return [sys.executable, str(script)]


def test_push_urls_command_prints_one_url_per_line(
    tmp_path: Path, sink: HttpSink, desktop: NotificationServer
) -> None:
    command = url_command(tmp_path, "# my phones", json_url(sink, "a"), "", ntfy_url(sink, "b"))
    env = cli_env(
        tmp_path, f'backend = ["desktop", "push"]\npush_urls_command = {json.dumps(command)}'
    )
    add_lapsed_cli(env, "Priya")
    result = env.run("check-lapses")
    assert result.exit_code == 0, result.output
    assert titles(sink, "/a") == ["Time to get in touch with Priya"]
    assert ntfy_titles(sink, "b") == ["Time to get in touch with Priya"]
    assert len(desktop.notify_calls()) == 1
    assert "told (desktop, push json://127.0.0.1" in result.stdout  # one text, three channels


def test_a_failing_url_command_is_one_line_and_the_desktop_still_delivers(
    tmp_path: Path, desktop: NotificationServer
) -> None:
    command = url_command(tmp_path, f"ntfys://ntfy.sh/{TOKEN}", status=3)
    env = cli_env(
        tmp_path, f'backend = ["desktop", "push"]\npush_urls_command = {json.dumps(command)}'
    )
    add_lapsed_cli(env, "Priya")
    result = env.run("check-lapses")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"weakties: error: notify.push_urls_command ({sys.executable}): exited with status 3"
    ]
    assert "told (desktop)" in result.stdout
    assert len(desktop.notify_calls()) == 1
    assert TOKEN not in result.output


def test_an_unknown_scheme_from_the_command_is_one_line_the_other_url_delivers(
    tmp_path: Path, sink: HttpSink
) -> None:
    command = url_command(tmp_path, f"nosuchsvc://{TOKEN}", json_url(sink))
    env = cli_env(tmp_path, f'backend = ["push"]\npush_urls_command = {json.dumps(command)}')
    add_lapsed_cli(env, "Priya")
    result = env.run("check-lapses")
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("weakties: error: push URL 1 (nosuchsvc://****): ")
    assert "nosuchsvc" in line and TOKEN not in result.output
    assert titles(sink, "/hook") == ["Time to get in touch with Priya"]


def test_push_urls_from_the_keyring(
    test_keyring: Path,
    sink: HttpSink,
    store: Store,
    make_config: ConfigFactory,
    make_contact: ContactFactory,
    make_interactions: InteractionsFactory,
) -> None:
    config = make_config(notify={"backend": "push"})
    empty = make_channels(config, interactive=False)
    assert empty.channels == [] and "no URL" in empty.problems[0]
    keyring.set_password("weakties", KEYRING_ENTRY, f"{json_url(sink, 'x')}\n{json_url(sink, 'y')}")
    lapsed(store, make_contact, make_interactions, "Priya", days_ago=40)
    result = run_check(store, config)
    assert not result.any_failed
    assert titles(sink, "/x") == titles(sink, "/y") == ["Time to get in touch with Priya"]


# --- the budget -----------------------------------------------------------------


def test_forty_overdue_on_the_first_run_is_one_notification_per_channel(
    sink: HttpSink,
    desktop: NotificationServer,
    store: Store,
    make_config: ConfigFactory,
    make_contact: ContactFactory,
    make_interactions: InteractionsFactory,
) -> None:
    config = make_config(
        notify={"backend": ["desktop", "push"], "push_urls": [json_url(sink), ntfy_url(sink)]}
    )
    for n in range(40):
        lapsed(store, make_contact, make_interactions, f"Friend{n:02d}", days_ago=31 + n)
    result = run_check(store, config)
    assert len(result.alerts) == 40 and not result.any_failed
    [call] = desktop.notify_calls()
    assert call["summary"] == "40 people are due"
    assert "… and 32 more" in call["body"]
    assert titles(sink, "/hook") == ["40 people are due"]
    assert ntfy_titles(sink, "weakties") == ["40 people are due"]
    # all forty are told on every channel: the next check is silent
    assert run_check(store, config, NOW + timedelta(hours=1)).alerts == []
    assert len(sink.requests) == 2 and len(desktop.notify_calls()) == 1


def test_max_per_day_holds_over_a_simulated_week(
    sink: HttpSink,
    store: Store,
    make_config: ConfigFactory,
    make_contact: ContactFactory,
    make_interactions: InteractionsFactory,
) -> None:
    config = make_config(
        notify={"backend": "push", "push_urls": [json_url(sink)], "max_per_day": 2}
    )
    # two people come due every day of the week, one at 03:00 and one at 15:00
    # (each written to exactly 30 days before that moment)
    names = []
    for day in range(7):
        for hour in (3, 15):
            name = f"D{day}h{hour:02d}"
            names.append(name)
            make_contact(store, name, cadence=30 * DAY, created=NOW - 400 * DAY)
            due = datetime(2025, 6, 2 + day, hour, tzinfo=UTC)
            make_interactions(
                store, f"{name.lower()}@example.org", (Direction.SENT, due - 30 * DAY)
            )
    # and one overdue at the start, so the first-run sum-up is part of day 1
    lapsed(store, make_contact, make_interactions, "Early", days_ago=45)
    start = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)
    per_day: dict[str, int] = {}
    sent_at = []
    for hour in range(8 * 24):  # a check every hour for eight days
        at = start + timedelta(hours=hour)
        before = len(sink.requests)
        result = run_check(store, config, at)
        assert not result.any_failed
        if len(sink.requests) > before:
            per_day[at.date().isoformat()] = per_day.get(at.date().isoformat(), 0) + 1
            sent_at.append(at)
    assert max(per_day.values()) == 2  # the budget was reached and never passed
    assert sent_at[0] == start  # the first run: "Early" alone, no sum-up needed
    # nobody is lost: every one of them was told by the end, each exactly once
    told = {n: 0 for n in [*names, "Early"]}
    for r in sink.requests:
        payload = json.loads(r.body)
        for name in told:
            if name in payload["title"] or f"{name}:" in payload["message"]:
                told[name] += 1
    assert set(told.values()) == {1}, told
    # on days with more due than the budget allows, the rest waited for the next day
    assert per_day["2025-06-02"] == 2  # Early at 00:00, D0h03 at 03:00; D0h15 waits
    assert any("D0h15" in json.loads(r.body)["message"] for r in sink.requests[2:4])


class _Inbox:
    """A channel's notifier that records what it got, or refuses."""

    def __init__(self) -> None:
        self.got: list[str] = []
        self.refuse = False

    def deliver(self, notification: Notification) -> bool:
        if self.refuse:
            return False
        self.got.append(notification.summary)
        return True

    def pending_actions(self) -> list[Any]:
        return []

    def open_uri(self, uri: str) -> bool:
        return False

    def close(self) -> None:
        pass


def test_a_claim_holds_one_channel_only_and_is_released_when_delivery_fails(
    store: Store, make_config: Any, make_contact: Any, make_interactions: Any
) -> None:
    """Issue 11 with issue 10's channels: two daemons (holders) on one database; an
    alert another daemon claimed on one channel is left to it there, and still told
    on the other channel; a failed delivery gives the claim back."""
    from syncd.notify import Channel, Channels

    config = make_config(defaults={"cadence": "30d"})
    make_contact(store, "Priya", created=NOW - timedelta(days=400))
    make_interactions(store, "priya@example.org", (Direction.SENT, NOW - timedelta(days=90)))
    desk, phone = _Inbox(), _Inbox()
    channels = Channels([Channel("desktop", "desktop", desk), Channel("push:x", "push", phone)])
    [alert] = alerts.check(store, config, channels, now=NOW, local_now=NOW, dry_run=True).alerts
    assert store.claim_alert(alert, "desktop", "alpha:1", NOW)  # alpha is telling it there
    alerts.check(store, config, channels, now=NOW, local_now=NOW, holder="beta:2")
    assert (len(desk.got), len(phone.got)) == (0, 1)  # beta left the desktop to alpha
    store.release_claim(alert, "desktop", "alpha:1")  # alpha's delivery failed
    desk.refuse = True
    failed = alerts.check(store, config, channels, now=NOW, local_now=NOW, holder="beta:2")
    assert failed.any_failed and len(phone.got) == 1  # not told twice on the phone
    desk.refuse = False  # beta's failure released its claim too: the next check tells it
    alerts.check(store, config, channels, now=NOW, local_now=NOW, holder="beta:2")
    assert (len(desk.got), len(phone.got)) == (1, 1)
    alerts.check(store, config, channels, now=NOW, local_now=NOW, holder="alpha:1")
    assert (len(desk.got), len(phone.got)) == (1, 1)  # told once on each, whoever asks
