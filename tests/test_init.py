"""``weakties init``: scripted against the real Dovecot, and interactive through a pty."""

from __future__ import annotations

import json
import os
import stat
import sys
import tomllib
from pathlib import Path

import pexpect
import pytest
from click.testing import CliRunner

from syncd import configfile, providers
from syncd.accounts import NewAccount
from syncd.accounts import imap as imap_entry
from syncd.cli import main
from syncd.init import gmail_note
from tests.caldav_servers import DavServer, DavUser
from tests.dovecot import Dovecot, ImapUser
from tests.helpers import Env, day, message

REPO = Path(__file__).resolve().parent.parent
ME_ALIAS = "me.alias@example.org"


def _two_way(dovecot: Dovecot, user: ImapUser) -> None:
    me = user.username
    dovecot.append(
        me,
        "INBOX",
        message("Priya Patel <priya@example.org>", me, date=day(1), message_id="<p1@x>"),
    )
    dovecot.append(me, "Sent", message(me, "priya@example.org", date=day(2), message_id="<p2@x>"))


def _flags(dovecot: Dovecot, user: ImapUser) -> list[str]:
    return [
        "--host",
        dovecot.host,
        "--port",
        str(dovecot.tls_port),
        "--ca-file",
        str(dovecot.ca_file),
    ]


def test_non_interactive_writes_a_working_config(
    tmp_path: Path, dovecot: Dovecot, imap_user: ImapUser, test_keyring: Path
) -> None:
    _two_way(dovecot, imap_user)
    env = Env(config=tmp_path / "conf" / "config.toml", db=tmp_path / "db" / "weakties.db")
    result = env.run(
        "init",
        "--non-interactive",
        "--address",
        imap_user.username,
        "--address",
        ME_ALIAS,
        *_flags(dovecot, imap_user),
        "--password-stdin",
        input=imap_user.password + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "Checking" in result.stdout and " ok" in result.stdout
    assert "example: 2 messages scanned, 2 new interactions" in result.stdout
    assert "Priya Patel" in result.stdout  # the suggestions after the first sync
    assert "weakties service install" in result.stdout

    assert stat.S_IMODE(env.config.stat().st_mode) == 0o600
    assert stat.S_IMODE(env.config.parent.stat().st_mode) == 0o700
    text = env.config.read_text()
    assert imap_user.password not in text and imap_user.password not in result.output
    assert "# Your own addresses" in text  # written with comments
    data = tomllib.loads(text)
    assert data["identity"]["addresses"] == [imap_user.username, ME_ALIAS]
    assert data["account"][0] == {
        "name": "example",
        "type": "imap",
        "host": dovecot.host,
        "port": dovecot.tls_port,
        "security": "tls",
        "username": imap_user.username,
        "ca_file": str(dovecot.ca_file),
    }
    assert json.loads(test_keyring.read_text()) == {"weakties/example": imap_user.password}

    # The config works on its own: a later sync reads the new mail.
    dovecot.append(
        imap_user.username,
        "INBOX",
        message("bob@example.net", imap_user.username, date=day(3), message_id="<b@x>"),
    )
    again = env.run("sync", "--once")
    assert again.exit_code == 0 and "1 messages scanned, 1 new interactions" in again.stdout


def test_rerun_refuses_without_force_and_keeps_a_copy(
    tmp_path: Path, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    env = Env(config=tmp_path / "config.toml", db=tmp_path / "weakties.db")
    env.config.write_text('[identity]\naddresses = ["old@example.org"]\n')
    args = [
        "init",
        "--non-interactive",
        "--address",
        imap_user.username,
        "--no-sync",
        *_flags(dovecot, imap_user),
        "--password-command",
        f"printf %s {imap_user.password}",
    ]
    refused = env.run(*args)
    assert refused.exit_code == 2
    assert "exists already" in refused.stderr and "--force" in refused.stderr
    assert env.config.read_text() == '[identity]\naddresses = ["old@example.org"]\n'

    forced = env.run(*args, "--force")
    assert forced.exit_code == 0, forced.output
    backup = tmp_path / "config.toml.bak"
    assert backup.read_text() == '[identity]\naddresses = ["old@example.org"]\n'
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    data = tomllib.loads(env.config.read_text())
    assert data["account"][0]["password_command"] == ["printf", "%s", imap_user.password]
    assert env.run("sync", "--once").exit_code == 0


def test_wrong_password_writes_nothing(
    tmp_path: Path, dovecot: Dovecot, imap_user: ImapUser, test_keyring: Path
) -> None:
    env = Env(config=tmp_path / "config.toml", db=tmp_path / "weakties.db")
    result = env.run(
        "init",
        "--non-interactive",
        "--address",
        imap_user.username,
        *_flags(dovecot, imap_user),
        "--password-stdin",
        input="wrong\n",
    )
    assert result.exit_code == 1
    assert "login failed" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not env.config.exists() and not test_keyring.exists()
    missing = env.run("init", "--non-interactive")
    assert missing.exit_code == 2 and "--address is required" in missing.stderr


def test_interactive_keeps_an_existing_config_when_told(tmp_path: Path) -> None:
    env = Env(config=tmp_path / "config.toml", db=tmp_path / "weakties.db")
    env.config.write_text("this is not TOML at all\n")  # init still runs on a broken config
    quit_ = env.run("init", input="quit\n")
    assert quit_.exit_code == 1 and env.config.read_text() == "this is not TOML at all\n"
    env.config.write_text('[identity]\naddresses = ["me@example.org"]\n')
    kept = env.run("init", input="keep\n")
    assert kept.exit_code == 0, kept.output
    assert "has no [[account]]" in kept.stdout
    assert env.config.read_text() == '[identity]\naddresses = ["me@example.org"]\n'


def test_interactive_init_through_a_terminal(
    tmp_path: Path, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    _two_way(dovecot, imap_user)
    config, db = tmp_path / "config.toml", tmp_path / "weakties.db"
    keyring_file = tmp_path / "keyring.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEAKTIES_")}
    unit = tmp_path / "xdg" / "systemd" / "user" / "weakties.service"
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "WEAKTIES_DB": f"sqlite:///{db}",
            "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
            "PYTHON_KEYRING_BACKEND": "tests.keyring_backend.FileKeyringForTests",
            "WEAKTIES_TEST_KEYRING": str(keyring_file),
            "TERM": "dumb",
            "COLUMNS": "200",
        }
    )
    child = pexpect.spawn(
        sys.executable,
        ["-m", "syncd", "--config", str(config), "init"],
        env=env,
        cwd=str(REPO),
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 200),
    )
    try:
        child.expect_exact("Your e-mail addresses")
        child.sendline(f"{imap_user.username}, {ME_ALIAS}")
        child.expect_exact("Mail account to read")
        child.sendline("")  # default: the first address
        child.expect_exact("IMAP server [imap.example.com]")
        child.sendline(dovecot.host)
        child.expect_exact("Port [993]")
        child.sendline(str(dovecot.tls_port))
        child.expect_exact("Security (tls, starttls) [tls]")
        child.sendline("")
        child.expect_exact("Extra CA certificate")
        child.sendline(str(dovecot.ca_file))
        child.expect_exact("A short name for this account [example]")
        child.sendline("work")
        child.expect_exact("Keep the password in the system keyring")
        child.sendline("")
        child.expect_exact(f"password for {imap_user.username}")
        child.sendline(imap_user.password)
        child.expect_exact(" ok")
        child.expect_exact("Add another account? [y/N]")
        child.sendline("")
        child.expect_exact("Add a calendar?")
        child.sendline("")
        child.expect_exact("Run the first sync now?")
        child.sendline("")
        child.expect_exact("work: 2 messages scanned, 2 new interactions")
        child.expect_exact("Priya Patel")
        child.expect_exact("Whom to track?")
        child.sendline("7")  # out of range: asked again
        child.expect_exact("choose between 1 and 1")
        child.expect_exact("Whom to track?")
        child.sendline("1")
        child.expect_exact("added Priya Patel <priya@example.org>")
        child.expect_exact("Keep weakties running in the background")
        child.sendline("y")
        child.expect_exact(f"wrote {unit}")
        # Started if this machine has a user systemd; else it says how, in one line.
        child.expect(
            [
                "weakties now runs in the background",
                r"could not start it \(.*\); start it with: systemctl --user enable",
            ]
        )
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    data = tomllib.loads(config.read_text())
    assert data["identity"]["addresses"] == [imap_user.username, ME_ALIAS]
    assert data["account"][0]["name"] == "work"
    assert json.loads(keyring_file.read_text()) == {"weakties/work": imap_user.password}
    listed = Env(config=config, db=db).json("contact", "list")
    assert [c["name"] for c in listed] == ["Priya Patel"]
    assert f"--config {config} daemon" in unit.read_text()


def test_provider_guesses_and_config_text() -> None:
    gmail = providers.guess("Someone@GoogleMail.com")
    assert (gmail.host, gmail.port, gmail.security, gmail.gmail) == (
        "imap.gmail.com",
        993,
        "tls",
        True,
    )
    assert "weakties auth" in gmail_note()
    assert providers.guess("x@hotmail.com").host == "outlook.office365.com"
    assert providers.guess("x@me.com").host == "imap.mail.me.com"
    assert providers.guess("x@posteo.de").host == "posteo.de"
    unknown = providers.guess("x@mail.example.net")
    assert (unknown.host, unknown.known, unknown.name) == ("imap.mail.example.net", False, "mail")
    draft = imap_entry.ImapDraft(
        "w",
        "imap.example.org",
        993,
        "tls",
        "ü@example.org",
        password_command=["pass", "show", "x y"],
    )
    text = configfile.render(
        ['a"b@example.org'], [NewAccount("w", "imap", imap_entry.config_lines(draft))]
    )
    data = tomllib.loads(text)
    assert data["identity"]["addresses"] == ['a"b@example.org']
    assert data["account"][0]["password_command"] == ["pass", "show", "x y"]
    assert data["account"][0]["username"] == "ü@example.org"


def test_init_reads_gmail_through_the_api(
    tmp_path: Path, test_keyring: Path, consenting_browser: list[str]
) -> None:
    from tests.gmail_standin import GmailStandin

    me = "someone@gmail.com"
    with GmailStandin(me) as standin:
        standin.add(
            f"From: Priya <priya@example.org>\nTo: {me}\nMessage-ID: <g1@x>\n"
            "Date: Sat, 01 Mar 2025 09:00:00 +0000\nSubject: hi\n",
            labels=["INBOX"],
        )
        standin.add(
            f"From: {me}\nTo: priya@example.org\nMessage-ID: <g2@x>\n"
            "Date: Sun, 02 Mar 2025 09:00:00 +0000\nSubject: re\n",
            labels=["SENT"],
        )
        client = tmp_path / "client_secret.json"
        client.write_text(json.dumps(standin.new_client()))
        env = Env(config=tmp_path / "conf" / "config.toml", db=tmp_path / "db" / "w.db")
        bad = env.run(
            "init",
            "--non-interactive",
            "--address",
            me,
            "--gmail-client-secrets",
            str(tmp_path / "nope.json"),
        )
        assert bad.exit_code == 2 and "nope.json: cannot read" in bad.stderr
        assert not env.config.exists()

        result = env.run(
            "init",
            "--non-interactive",
            "--address",
            me,
            "--gmail-client-secrets",
            str(client),
            "--gmail-api-endpoint",
            standin.url,
        )
        assert result.exit_code == 0, result.output
        assert "gmail.metadata" in consenting_browser[0]
        assert f"gmail: authorized for {me}" in result.stdout
        assert "gmail: 2 messages scanned, 2 new interactions" in result.stdout
        data = tomllib.loads(env.config.read_text())
        assert data["account"] == [
            {
                "name": "gmail",
                "type": "gmail",
                "client_secrets": str(client),
                "api_endpoint": standin.url,
            }
        ]
        stored = json.loads(test_keyring.read_text())
        assert json.loads(stored["weakties/gmail"])["refresh_token"] in standin.refresh_tokens
        assert "Priya" in result.stdout  # suggested: two-way with priya@example.org


def _spawn_init(tmp_path: Path, config: Path, *args: str) -> pexpect.spawn[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEAKTIES_")}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "WEAKTIES_DB": f"sqlite:///{tmp_path / 'weakties.db'}",
            "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
            "PYTHON_KEYRING_BACKEND": "tests.keyring_backend.FileKeyringForTests",
            "WEAKTIES_TEST_KEYRING": str(tmp_path / "keyring.json"),
            "TERM": "dumb",
            "PATH": "/usr/bin:/bin",  # none of the password managers init proposes
        }
    )
    return pexpect.spawn(
        sys.executable,
        ["-m", "syncd", "--config", str(config), "init", *args],
        env=env,
        cwd=str(REPO),
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 200),
    )


def _answer_imap(child: pexpect.spawn[str], dovecot: Dovecot, login: str) -> None:
    child.expect_exact("IMAP server")
    child.sendline(dovecot.host)
    child.expect_exact("Port")
    child.sendline(str(dovecot.tls_port))
    child.expect_exact("Security")
    child.sendline("")
    child.expect_exact("Extra CA certificate")
    child.sendline(str(dovecot.ca_file))
    child.expect_exact("A short name for this account")
    child.sendline("work")


def test_init_retry_changes_the_login_and_adds_a_calendar(
    tmp_path: Path, dovecot: Dovecot, imap_user: ImapUser, dav_server: DavServer, dav_user: DavUser
) -> None:
    """Issue 13 row 8 (the retry may change the login, not only the password) and
    issue 9 (init offers a calendar after the mail accounts), on real servers."""
    config = tmp_path / "config.toml"
    work = dav_server.make_calendar(dav_user, "Work")
    child = _spawn_init(tmp_path, config, "--no-sync")
    try:
        child.expect_exact("Your e-mail addresses")
        child.sendline(imap_user.username)
        child.expect_exact("Mail account to read")
        child.sendline("typo-" + imap_user.username)
        _answer_imap(child, dovecot, "typo")
        child.expect_exact("Keep the password in the system keyring")
        child.sendline("keyring")
        child.expect_exact("password for typo-")
        child.sendline(imap_user.password)
        child.expect_exact(" failed")
        child.expect_exact("Change the settings and try again? [Y/n]")
        child.sendline("")
        child.expect_exact(f"Login [typo-{imap_user.username}]")
        child.sendline(imap_user.username)
        _answer_imap(child, dovecot, imap_user.username)
        child.expect_exact("Keep the password in the system keyring")
        child.sendline("")
        child.expect_exact(f"password for {imap_user.username}")
        child.sendline(imap_user.password)
        child.expect_exact(" ok")
        child.expect_exact("Add another account? [y/N]")
        child.sendline("")
        child.expect_exact("Add a calendar?")
        child.sendline("y")
        child.expect_exact("Which kind")
        child.sendline("caldav")
        child.expect_exact("CalDAV URL")
        child.sendline(work)
        child.expect_exact("Login")
        child.sendline(dav_user.username)
        child.expect_exact("Extra CA certificate")
        child.sendline(str(dav_server.ca_file))
        child.expect_exact("A short name for this calendar account [calendar]")
        child.sendline("")
        child.expect_exact("Keep the password in the system keyring")
        child.sendline("")
        child.expect_exact(f"password for {dav_user.username}")
        child.sendline(dav_user.password)
        child.expect_exact(" ok")
        child.expect_exact("Add a calendar?")
        child.sendline("")
        child.expect_exact("Stored the passwords in the keyring.")
        child.expect_exact("Keep weakties running in the background")
        child.sendline("n")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    data = tomllib.loads(config.read_text())
    mail, calendar = data["account"]
    assert (mail["type"], mail["username"]) == ("imap", imap_user.username)
    assert (calendar["type"], calendar["url"], calendar["username"]) == (
        "caldav",
        work,
        dav_user.username,
    )
    stored = json.loads((tmp_path / "keyring.json").read_text())
    assert dav_user.password in json.dumps(stored) and imap_user.password in json.dumps(stored)


def test_init_giving_up_prints_the_line_that_reproduces_the_answers(
    tmp_path: Path, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    config = tmp_path / "config.toml"
    child = _spawn_init(tmp_path, config)
    try:
        child.expect_exact("Your e-mail addresses")
        child.sendline(imap_user.username)
        child.expect_exact("Mail account to read")
        child.sendline("")
        _answer_imap(child, dovecot, imap_user.username)
        child.expect_exact("Keep the password in the system keyring")
        child.sendline("file")
        child.expect_exact("File holding the password (mode 0600)")
        secret = tmp_path / "work.pass"
        secret.write_text("wrong\n")
        secret.chmod(0o600)
        child.sendline(str(secret))
        child.expect_exact(" failed")
        child.expect_exact("Change the settings and try again? [Y/n]")
        child.sendline("n")
        child.expect_exact("To try these answers again: weakties init --non-interactive")
        child.expect(pexpect.EOF)
        tail = child.before
    finally:
        child.close(force=True)
    assert child.exitstatus == 1 and "Traceback" not in tail
    assert "login failed" in tail and not config.exists()
    assert f"--password-file {secret}" in tail and f"--host {dovecot.host}" in tail


def test_init_proposes_only_installed_password_programs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from syncd.accounts.password import installed_password_commands

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gopass = bin_dir / "gopass"
    gopass.write_text("#!/bin/sh\n")
    gopass.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert installed_password_commands("work") == [["gopass", "show", "-o", "mail/work"]]
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert installed_password_commands("work") == []


def test_init_and_weakties_db_expand_home(
    tmp_path: Path,
    dovecot: Dovecot,
    imap_user: ImapUser,
    test_keyring: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 13 row 14: ``~`` in init's CA answer (checked live, written as typed) and
    in ``$WEAKTIES_DB``."""
    home = tmp_path / "home"
    (home / "certs").mkdir(parents=True)
    (home / "certs" / "ca.pem").write_bytes(Path(dovecot.ca_file).read_bytes())
    (home / "data").mkdir(mode=0o700)
    monkeypatch.setenv("HOME", str(home))
    env = Env(config=tmp_path / "config.toml", db=tmp_path / "unused.db")
    flags = ["--host", dovecot.host, "--port", str(dovecot.tls_port), "--ca-file", "~/certs/ca.pem"]
    result = env.run(
        "init",
        "--non-interactive",
        "--no-sync",
        "--address",
        imap_user.username,
        *flags,
        "--password-stdin",
        input=imap_user.password + "\n",
    )
    assert result.exit_code == 0, result.output
    assert tomllib.loads(env.config.read_text())["account"][0]["ca_file"] == "~/certs/ca.pem"
    synced = CliRunner().invoke(
        main, ["--config", str(env.config), "sync"], env={"WEAKTIES_DB": "~/data/w.db"}
    )
    assert synced.exit_code == 0, synced.output
    assert (home / "data" / "w.db").exists()
    unset = CliRunner().invoke(
        main, ["--config", str(env.config), "status"], env={"WEAKTIES_DB": "$NOPE_X/w.db"}
    )
    assert unset.exit_code == 2 and "$WEAKTIES_DB: $NOPE_X is not set" in unset.stderr


def test_non_interactive_init_adds_an_ics_calendar(
    tmp_path: Path, dovecot: Dovecot, imap_user: ImapUser, test_keyring: Path
) -> None:
    calendars = tmp_path / "calendars"
    calendars.mkdir()
    env = Env(config=tmp_path / "config.toml", db=tmp_path / "db" / "w.db")
    common = ["init", "--non-interactive", "--no-sync", "--address", imap_user.username]
    bad = env.run(
        *common,
        *_flags(dovecot, imap_user),
        "--ics",
        "http://x.example/c.ics",
        "--password-stdin",
        input=imap_user.password + "\n",
    )
    assert bad.exit_code == 2 and "--ics: url is plain http" in bad.stderr
    assert not env.config.exists()  # nothing half-written
    result = env.run(
        *common,
        *_flags(dovecot, imap_user),
        "--ics",
        str(calendars),
        "--password-stdin",
        input=imap_user.password + "\n",
    )
    assert result.exit_code == 0, result.output
    mail, calendar = tomllib.loads(env.config.read_text())["account"]
    assert (mail["type"], calendar["type"], calendar["path"]) == ("imap", "ics", str(calendars))
