"""Config loading and durations: every mistake is one line naming file and key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from syncd.config import ConfigError, load
from syncd.durations import format_cadence, parse_duration


@pytest.mark.parametrize(
    "text, expected",
    [
        ("180d", timedelta(days=180)),
        ("15min", timedelta(minutes=15)),
        ("15 minutes", timedelta(minutes=15)),
        ("3 months", timedelta(days=90)),
        ("6mo", timedelta(days=180)),
        ("6mo", timedelta(days=180)),
        ("1y", timedelta(days=365)),
        ("2w", timedelta(weeks=2)),
        ("36h", timedelta(hours=36)),
        ("5s", timedelta(seconds=5)),
        ("1y 6mo", timedelta(days=545)),
        ("1.5d", timedelta(hours=36)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "12", "5 parsecs", "d5", "-3d"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_format_cadence() -> None:
    assert [format_cadence(parse_duration(t)) for t in ("90d", "6mo", "1y", "10d")] == [
        "3mo",
        "6mo",
        "1y",
        "10d",
    ]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


GOOD = """
[identity]
addresses = ["me@example.com"]
[defaults]
cadence = "3 months"
[privacy]
store_subjects = false
[tags.family]
cadence = "30d"
[[account]]
name = "work"
type = "imap"
host = "imap.example.com"
username = "work@example.com"
security = "starttls"
folders = ["INBOX", "Sent"]
"""


def test_a_full_config_loads(tmp_path: Path) -> None:
    config = load(write(tmp_path, GOOD))
    assert config.defaults.cadence == timedelta(days=90)
    assert config.privacy.store_subjects is False
    [account] = config.accounts
    assert (account.name, account.settings.security, account.settings.folders) == (
        "work",
        "starttls",
        ["INBOX", "Sent"],
    )
    assert config.my_addresses() == ["me@example.com", "work@example.com"]
    assert config.cadence_for(None, ["family"]) == timedelta(days=30)
    assert config.cadence_for(None, ["other"]) == timedelta(days=90)
    assert config.cadence_for(timedelta(days=7), ["family"]) == timedelta(days=7)


def test_missing_file_says_to_run_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path / "nope.toml")
    assert str(caught.value) == f"no config at {tmp_path / 'nope.toml'}; run 'weakties init'"
    assert caught.value.exit_code == 2


def test_empty_file_is_the_defaults(tmp_path: Path) -> None:
    config = load(write(tmp_path, ""))
    assert config.accounts == [] and config.defaults.cadence == timedelta(days=180)


@pytest.mark.parametrize(
    "text, message",
    [
        ("[identity]\naddresses = 'me@example.com'\n", "identity.addresses: expected a list"),
        ("[defaults]\ncadence = 'sometimes'\n", "defaults.cadence: bad duration 'sometimes'"),
        ("[defaults]\ncadense = '90d'\n", "defaults.cadense: unknown key"),
        ("[deafults]\n", "deafults: unknown section"),
        (
            GOOD.replace('security = "starttls"', 'security = "ssl"'),
            "account 'work'.security: expected one of tls, starttls, plain, got 'ssl'",
        ),
        (
            GOOD.replace('security = "starttls"', 'security = "plain"'),
            "account 'work': security = 'plain' would send the password unencrypted",
        ),
        (GOOD.replace('host = "imap.example.com"\n', ""), "account 'work'.host: missing"),
        (GOOD.replace('type = "imap"', 'type = "pop3"'), "account 'work'.type: expected one of"),
        (
            GOOD.replace('host = "imap.example.com"', 'host = "x"\npasword = "hunter2"'),
            "account 'work'.pasword: unknown key",
        ),
        (
            GOOD.replace('host = "imap.example.com"', "port = '993'\nhost = 'x'"),
            "account 'work'.port: expected an integer, got '993'",
        ),
        (
            GOOD + GOOD.split("[[account]]")[1].join(["[[account]]", ""]),
            "the name 'work' is used twice",
        ),
        ("[identity\n", "invalid TOML"),
        ("[defaults]\ncadence = '20000y'\n", "defaults.cadence: duration '20000y' is too long"),
        ("[defaults]\ncadence = '0d'\n", "defaults.cadence: must be between 1 day and 100 years"),
        ("[tags.family]\ncadence = '200y'\n", "cadence: must be between 1 day and 100 years"),
        (
            "[daemon]\npoll_interval = '15m'\n",
            "daemon.poll_interval: ambiguous duration '15m': "
            "use 'min' for minutes or 'mo' for months",
        ),
        (
            "[daemon]\npoll_interval = '2d'\n",
            "daemon.poll_interval: must be between 1 second and 1 day",
        ),
        ("[notify]\nrenotify_after = '500y'\n", "notify.renotify_after: must be between"),
    ],
)
def test_bad_configs_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_plain_allowed_with_opt_in(tmp_path: Path) -> None:
    text = GOOD.replace('security = "starttls"', 'security = "plain"\nallow_insecure = true')
    assert load(write(tmp_path, text)).accounts[0].settings.security == "plain"
