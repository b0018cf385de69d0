"""``weakties auth``: the password is checked with the server, then kept in the keyring."""

from __future__ import annotations

import json
from pathlib import Path

import keyring
from keyring.backends.fail import Keyring as FailKeyring

from tests.dovecot import Dovecot, ImapUser
from tests.helpers import day, imap_account, make_env, message


def test_auth_checks_and_stores_the_password(
    tmp_path: Path, dovecot: Dovecot, imap_user: ImapUser, test_keyring: Path
) -> None:
    dovecot.append(
        imap_user.username, "INBOX", message("a@example.org", "me@example.com", date=day(1))
    )
    env = make_env(tmp_path, imap_account(dovecot, imap_user, password_command=None))
    no_password = env.run("sync", "--once")
    assert no_password.exit_code == 1 and "run 'weakties auth mail'" in no_password.stderr

    wrong = env.run("auth", "mail", input="not-it\n")
    assert wrong.exit_code == 1 and "login failed" in wrong.stderr
    assert not test_keyring.exists()  # a refused password is not stored
    assert "not-it" not in wrong.output  # and never echoed

    right = env.run("auth", "mail", input=imap_user.password + "\n")
    assert right.exit_code == 0, right.output
    assert imap_user.password not in right.output
    assert json.loads(test_keyring.read_text()) == {"weakties/mail": imap_user.password}
    assert "1 messages scanned" in env.run("sync", "--once").stdout
    assert imap_user.password not in env.config.read_text()


def test_no_usable_keyring_names_password_command(
    tmp_path: Path, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(FailKeyring())
    try:
        env = make_env(tmp_path, imap_account(dovecot, imap_user))
        result = env.run("auth", "mail", input="x\n")
    finally:
        keyring.set_keyring(previous)
    assert result.exit_code == 1
    assert "no usable keyring" in result.stderr and "password_command" in result.stderr


def test_a_non_ascii_password_logs_in_with_authenticate_plain(
    tmp_path: Path, dovecot: Dovecot, test_keyring: Path
) -> None:
    """IMAP LOGIN carries only ASCII: such a password goes by AUTHENTICATE PLAIN in UTF-8."""
    password = "pässwörd-密码-ключ"
    user = ImapUser(f"utf8-{tmp_path.name.lower()}@example.com", password)
    dovecot.add_user(user.username, password)
    dovecot.append(user.username, "INBOX", message("a@example.org", "me@example.com", date=day(1)))
    env = make_env(tmp_path, imap_account(dovecot, user, password_command=None))

    wrong = env.run("auth", "mail", input="pässwort-falsch\n")
    assert wrong.exit_code == 1 and "login failed" in wrong.stderr
    assert "Traceback" not in wrong.output
    assert not set("äöü密码ключ") & set(wrong.output)  # no character of any secret shown
    assert "falsch" not in wrong.output and "sswort" not in wrong.output

    right = env.run("auth", "mail", input=password + "\n")
    assert right.exit_code == 0, right.output
    assert not set("äö密码ключ") & set(right.output)
    assert json.loads(test_keyring.read_text()) == {"weakties/mail": password}
    synced = env.run("sync", "--once")
    assert synced.exit_code == 0 and "1 messages scanned" in synced.stdout

    (tmp_path / "cmd").mkdir()
    by_command = make_env(tmp_path / "cmd", imap_account(dovecot, user))  # password_command
    assert "1 messages scanned" in by_command.run("sync", "--once").stdout
