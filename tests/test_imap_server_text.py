"""What the IMAP server says reaches the user as text: decoded, one line, never a
Python bytes repr (issue 13, row 13). Against the real Dovecot."""

from __future__ import annotations

import imaplib
from pathlib import Path

import pytest

from connectors import imap
from connectors.base import ConnectorError, FolderRole
from tests.dovecot import Dovecot, ImapUser
from tests.helpers import imap_account, make_env


def test_wrong_password_shows_the_servers_words(
    tmp_path: Path, dovecot: Dovecot, imap_user: ImapUser, test_keyring: Path
) -> None:
    env = make_env(tmp_path, imap_account(dovecot, imap_user, password="wrong"))
    result = env.run("sync", "--once")
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.endswith(
        f"login failed for {imap_user.username}: [AUTHENTICATIONFAILED] Authentication failed."
    )
    assert "b'" not in result.output and 'b"' not in result.output
    # the same words through `weakties auth`
    (tmp_path / "auth").mkdir()
    auth = make_env(tmp_path / "auth", imap_account(dovecot, imap_user, password_command=None))
    wrong = auth.run("auth", "mail", input="not-it\n")
    assert wrong.exit_code == 1
    assert "[AUTHENTICATIONFAILED] Authentication failed." in wrong.stderr
    assert "b'" not in wrong.output


def test_a_refused_command_shows_the_servers_words(dovecot: Dovecot, imap_user: ImapUser) -> None:
    settings = imap.ImapSettings(
        host=dovecot.host,
        port=dovecot.tls_port,
        username=imap_user.username,
        ca_file=str(dovecot.ca_file),
    )
    with imap.connect(settings, imap_user.password) as connector:
        # a folder that is not there: Dovecot answers STATUS with NO and its reason
        connector.folders = lambda: [imap.Folder("Gone", FolderRole.NORMAL)]  # type: ignore[method-assign]
        with pytest.raises(ConnectorError) as caught:
            list(connector.batches({}))
    message = str(caught.value)
    assert message.startswith(f"{dovecot.host}: server error: ")
    assert "Mailbox doesn't exist: Gone" in message
    assert "b'" not in message and "\\'" not in message


@pytest.mark.parametrize(
    "error, shown",
    [
        (
            imaplib.IMAP4.error(b"[AUTHENTICATIONFAILED] Authentication failed."),
            "[AUTHENTICATIONFAILED] Authentication failed.",
        ),
        (
            imaplib.IMAP4.error(
                "LOGIN command error: BAD [b'Error in IMAP command LOGIN: \\'x\\'']"
            ),
            "LOGIN command error: BAD Error in IMAP command LOGIN: 'x'",
        ),
        (imaplib.IMAP4.error("select failed: b'caf\\xc3\\xa9'"), "select failed: café"),
        (imaplib.IMAP4.error(b"caf\xc3\xa9 \xff"), "café \ufffd"),
        (imaplib.IMAP4.error(b"evil\r\n\x1b[31mred"), "evil [31mred"),  # no control characters
        (imaplib.IMAP4.error(b"x" * 1000), "x" * 299 + "…"),
        (imaplib.IMAP4.error(b""), "no reason given"),
        (
            ConnectionResetError(104, "Connection reset by peer"),
            "[Errno 104] Connection reset by peer",
        ),
    ],
)
def test_server_text(error: BaseException, shown: str) -> None:
    assert imap.server_text(error) == shown
