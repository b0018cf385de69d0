"""Every input gets a clear answer (issue 13): the CLI's replies to odd or mistaken input."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.caldav_settings import CaldavSettings
from connectors.ics_settings import IcsSettings
from syncd import config as config_mod
from syncd.cli.output import cut, width
from syncd.store import open_store
from tests.dovecot import Dovecot, ImapUser
from tests.helpers import Env, imap_account, make_env


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


# --- row 17: click's usage errors in weakties' format; "did you mean" -------------


@pytest.mark.parametrize(
    ("args", "message", "hint"),
    [
        (("contact", "add", "X", "--bogus"), "no such option '--bogus'", "weakties contact add"),
        (("contact", "add"), "missing argument 'NAME'", "weakties contact add"),
        (("contact", "show"), "missing argument 'NAME'", "weakties contact show"),
        (("--nope", "status"), "no such option '--nope'", "weakties"),
        (("frobnicate",), "no such command 'frobnicate'", "weakties"),
        (
            ("contact", "show", "X", "--limit", "0"),
            "invalid value for '--limit'",
            "weakties contact show",
        ),
        (("snooze", "X", "-1d"), "negative duration '-1d'", "weakties snooze"),
        (
            ("contact", "add", "X", "--email", "x@example.org", "--cadence", "-3d"),
            "negative duration",
            "weakties contact add",
        ),
    ],
)
def test_click_usage_errors_in_weakties_format(
    env: Env, args: tuple[str, ...], message: str, hint: str
) -> None:
    result = env.run(*args)
    assert result.exit_code == 2, result.output
    first, second = result.stderr.splitlines()
    assert first.startswith("weakties: error: ") and message in first, first
    assert second == f"try '{hint} --help'"
    assert "Usage:" not in result.output and "Traceback" not in result.output


def test_an_unknown_name_close_to_a_contact_is_suggested(env: Env) -> None:
    ok(env, "contact", "add", "Diego Ramos", "--email", "d@example.org")
    ok(env, "contact", "add", "Priya", "--email", "p@example.org")
    for args in (
        ("touch", "diego ramon"),
        ("snooze", "Diego Ramso", "3d"),
        ("contact", "show", "DIEGO RAMOZ"),
        ("contact", "rm", "diego  ramos"),
    ):
        assert "did you mean 'Diego Ramos'?" in error(env, *args), args
    far = error(env, "touch", "Zachary")
    assert far == "weakties: error: no contact named 'Zachary'\n"
    assert env.json("status")[0]["snoozed_until"] is None


# --- row 10: touch --at refuses the future; touch --undo ---------------------------


def test_a_touch_more_than_a_day_ahead_is_refused(env: Env) -> None:
    ok(env, "contact", "add", "Priya", "--email", "p@example.org")
    ahead = (datetime.now(UTC) + timedelta(days=1, hours=1)).isoformat()
    assert "more than a day ahead" in error(env, "touch", "Priya", "--at", ahead)
    assert "more than a day ahead" in error(env, "touch", "Priya", "--at", "2030-01-01")
    [priya] = env.json("status")
    assert priya["last_contact"] is None
    soon = (datetime.now(UTC) + timedelta(hours=20)).isoformat()
    ok(env, "touch", "Priya", "--at", soon)  # later today, somewhere: fine
    assert env.json("status")[0]["last_direction"] == "touch"


def test_undo_removes_the_touch_recorded_last(env: Env) -> None:
    ok(env, "contact", "add", "Priya", "--email", "p@example.org")
    assert "no manual touch recorded for 'Priya'" in error(env, "touch", "priya", "--undo")
    ok(env, "touch", "Priya", "--at", "2026-03-01T12:00:00+00:00", "--note", "coffee")
    ok(env, "touch", "Priya", "--at", "2025-06-01T12:00:00+00:00", "--note", "typo")
    # the one recorded last goes, although an older date
    assert (
        ok(env, "touch", "PRIYA", "--undo") == "removed the touch with Priya on 2025-06-01 (typo)\n"
    )
    [priya] = env.json("status")
    assert priya["last_contact"] == "2026-03-01T12:00:00+00:00"
    assert "on 2026-03-01 (coffee)" in ok(env, "touch", "Priya", "--undo")
    assert env.json("status")[0]["last_contact"] is None
    error(env, "touch", "Priya", "--undo")
    assert "--undo takes no --at" in error(env, "touch", "Priya", "--undo", "--at", "2026-01-01")
    assert "did you mean 'Priya'" in error(env, "touch", "Prya", "--undo")


# --- row 16: one formatting of durations -------------------------------------------


def test_cadences_read_the_same_in_every_command(env: Env) -> None:
    for name, cadence in (("A", "30d"), ("B", "32d"), ("C", "1y"), ("D", "21d")):
        ok(env, "contact", "add", name, "--email", f"{name}@example.org", "--cadence", cadence)
    listed = ok(env, "contact", "list")
    shown = ok(env, "status")
    for words in ("1 month", "32 days", "1 year", "3 weeks"):
        assert words in listed and words in shown, words
    for short in ("30d", "1mo", "32d", "1y", "3w"):
        assert f" {short} " not in listed + shown
    assert [c["cadence_days"] for c in env.json("contact", "list")] == [30, 32, 365, 21]


# --- row 19: sync is one pass; --once is a hidden alias ----------------------------


def test_sync_is_one_pass_and_once_means_the_same(env: Env) -> None:
    helptext = " ".join(ok(env, "sync", "--help").split())
    assert "accounts once" in helptext and "weakties daemon" in helptext
    assert "--once" in helptext  # the docstring says the old flag changes nothing
    assert "--once " not in helptext.split("Options:")[1]  # but it is not offered
    plain, once = env.run("sync"), env.run("sync", "--once")
    assert plain.exit_code == once.exit_code == 2
    assert plain.stderr == once.stderr and "no [[account]] configured" in plain.stderr


# --- row 15: tables by display width, cut to the terminal --------------------------


def _column_starts(line: str, cells: list[str]) -> list[int]:
    """The display column where each of ``cells`` ends (the first) or starts (the rest)."""
    starts, pos = [], 0
    for cell in cells:
        pos = line.index(cell, pos)
        starts.append(width(line[:pos]) + (len(cell) if not starts else 0))
        pos += len(cell)
    return starts


def test_tables_align_by_display_width_and_fit_the_terminal(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ["Zoë Ünal", "张伟", "Mia 🎉🎉", "Dr. Bartholomew Featherstonehaugh-Worthington"]
    for i, name in enumerate(names):
        ok(env, "contact", "add", name, "--email", f"c{i}@example.org", "--tag", "friends")
    monkeypatch.setenv("COLUMNS", "200")
    wide = ok(env, "contact", "list").splitlines()
    assert any(names[3] in line for line in wide)  # room enough: nothing cut
    starts = {
        tuple(_column_starts(line, ["@example.org", "default", "friends"])) for line in wide[1:]
    }
    assert len(starts) == 1, wide  # every row's columns at the same display column
    monkeypatch.setenv("COLUMNS", "50")
    narrow = ok(env, "contact", "list").splitlines()
    assert all(width(line) <= 50 for line in narrow), narrow
    assert any("…" in line for line in narrow) and not any(names[3] in ln for ln in narrow)
    assert {c["name"] for c in env.json("contact", "list")} == set(names)  # JSON never cut


def test_control_characters_never_reach_the_table(env: Env) -> None:
    ok(env, "contact", "add", "Ann", "--email", "ann@example.org")
    with sqlite3.connect(env.db) as db:  # an old row, from before names were checked
        db.execute("UPDATE contacts SET name = 'Ann\tLee\x1b[2J'")
    table = ok(env, "contact", "list")
    assert "\t" not in table and "\x1b" not in table and "Ann Lee\ufffd[2J" in table


def test_piped_tables_are_not_cut(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    long = "Dr. Bartholomew Featherstonehaugh-Worthington the Third of Somewhere Far"
    ok(env, "contact", "add", long, "--email", "b@example.org")
    assert long in ok(env, "contact", "list")


def test_cut_and_width() -> None:
    assert width("张伟") == 4 and width("e\u0301") == 1 and width("abc") == 3
    assert cut("张伟王芳", 5) == "张伟…" and width(cut("张伟王芳", 5)) <= 5
    assert cut("abcdef", 4) == "abc…" and cut("abc", 3) == "abc"


# --- row 12: service status: last successful poll, and separately last new mail ----


def test_service_status_shows_the_last_poll_and_the_last_new_mail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts = "".join(
        f'[[account]]\nname = "{n}"\ntype = "imap"\nhost = "127.0.0.1"\nusername = "u"\n'
        'password_command = ["true"]\n'
        for n in ("home", "work", "new")
    )
    env = make_env(tmp_path, accounts)
    store = open_store(f"sqlite:///{env.db}")
    now = datetime.now(UTC)
    store.record_poll("home", now - timedelta(days=3), 5)
    store.record_poll("home", now - timedelta(minutes=2), 0)  # nothing new: still a poll
    store.record_poll("work", now - timedelta(hours=4), 0)
    store.close()
    monkeypatch.setenv("PATH", str(tmp_path))  # no systemctl: the daemon's state is unknown
    result = env.run("service", "status")
    assert result.exit_code == 3
    lines = result.stdout.splitlines()
    assert lines[1:] == [
        "home: last successful poll 2 minutes ago; last new mail 3 days ago",
        "work: last successful poll 4 hours ago; last new mail never",
        "new: last successful poll never; last new mail never",
    ]


# --- row 14: ~ and $VARS in every path the config takes ----------------------------


def test_every_path_in_the_config_expands_home_and_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SECRETS", str(tmp_path / "secrets"))
    path = tmp_path / "config.toml"
    path.write_text(
        '[database]\nurl = "~/data/w.db"\n'
        '[notify]\nbackend = "command"\ncommand = ["~/bin/tell", "~{name}", "$HOME"]\n'
        '[[account]]\nname = "home"\ntype = "imap"\nhost = "127.0.0.1"\nusername = "u"\n'
        'ca_file = "~/ca.pem"\npassword_file = "$SECRETS/home.pass"\n'
        '[[account]]\nname = "work"\ntype = "imap"\nhost = "127.0.0.1"\nusername = "u"\n'
        'password_command = ["${HOME}/bin/pw", "~/not-the-program"]\n'
        '[[account]]\nname = "g"\ntype = "gmail"\nclient_secrets = "~/g/client.json"\n'
        'token_file = "$HOME/g/token.json"\n'
    )
    config = config_mod.load(path)
    h, s = str(home), str(tmp_path / "secrets")
    imap, work, gmail = (a.settings for a in config.accounts)
    assert (imap.ca_file, imap.password_file) == (f"{h}/ca.pem", f"{s}/home.pass")
    assert work.password_command == [f"{h}/bin/pw", "~/not-the-program"]  # arguments as written
    assert (gmail.client_secrets, gmail.token_file) == (f"{h}/g/client.json", f"{h}/g/token.json")
    # the calendar types, through the same loader (registered as account types by the lead)
    ics = config_mod.build(IcsSettings, {"path": "~/cal/*.ics", "ca_file": "~/ca.pem"}, "cal")
    assert (ics.path, ics.ca_file) == (f"{h}/cal/*.ics", f"{h}/ca.pem")
    dav = config_mod.build(
        CaldavSettings,
        {"url": "https://dav.example", "username": "u", "password_file": "~/p", "ca_file": "~/c"},
        "dav",
    )
    assert (dav.password_file, dav.ca_file) == (f"{h}/p", f"{h}/c")
    assert config.notify.command == [f"{h}/bin/tell", "~{name}", "$HOME"]
    assert config.database_url == f"{h}/data/w.db"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            'ca_file = "$NO_SUCH_VAR_13/ca.pem"',
            "account 'home'.ca_file: $NO_SUCH_VAR_13 is not set (in '$NO_SUCH_VAR_13/ca.pem')",
        ),
        ('password_file = "${NOPE_13}"', "account 'home'.password_file: ${NOPE_13} is not set"),
    ],
)
def test_an_unset_variable_in_a_path_is_one_line(
    tmp_path: Path, setting: str, message: str
) -> None:
    env = make_env(
        tmp_path,
        f'[[account]]\nname = "home"\ntype = "imap"\nhost = "h"\nusername = "u"\n{setting}\n',
    )
    assert message in error(env, "status")


def test_a_sqlite_url_expands_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    path = tmp_path / "config.toml"
    path.write_text('[database]\nurl = "sqlite:///~/w.db"\n')
    assert config_mod.load(path).database_url == f"sqlite:///{tmp_path}/w.db"
    path.write_text('[database]\nurl = "postgresql://u:p$w@localhost/db"\n')  # never touched
    assert config_mod.load(path).database_url == "postgresql://u:p$w@localhost/db"


def test_a_quoted_tilde_in_an_import_file_is_expanded(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "friends.vcf").write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ana Lima\r\nEMAIL:ana@example.org\r\nEND:VCARD\r\n"
    )
    ok(env, "import", "~/friends.vcf")
    assert [c["name"] for c in env.json("contact", "list")] == ["Ana Lima"]
    assert "does not exist" in error(env, "import", "$HOME/missing.vcf")


def test_an_imap_ca_file_under_home_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(dovecot.ca_file, home / "ca.pem")
    monkeypatch.setenv("HOME", str(home))
    env = make_env(tmp_path, imap_account(dovecot, imap_user, ca_file="~/ca.pem"))
    result = env.run("sync")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("mail: ")
