"""Tests of the real-Dovecot harness itself (tests/dovecot.py)."""

from __future__ import annotations

import contextlib
import socket
import ssl
from datetime import UTC, datetime, timedelta, timezone

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from tests.dovecot import MISMATCH_HOSTNAME, SPECIAL_USE_FOLDERS, Dovecot, ImapUser


def _message(subject: str, body: str = "hello") -> bytes:
    return (
        f"From: a@example.com\r\nTo: b@example.com\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '.')}@example.com>\r\n\r\n{body}\r\n"
    ).encode()


def test_login_over_tls_with_test_ca(dovecot: Dovecot, imap_user: ImapUser) -> None:
    context = ssl.create_default_context(cafile=str(dovecot.ca_file))
    with IMAPClient(dovecot.host, port=dovecot.tls_port, ssl=True, ssl_context=context) as imap:
        imap.login(imap_user.username, imap_user.password)
        capabilities = imap.capabilities()
        assert b"CONDSTORE" in capabilities
        assert b"SPECIAL-USE" in capabilities
        special = {
            name: flags
            for flags, _sep, name in imap.list_folders()
            if set(flags) & {b"\\Drafts", b"\\Sent", b"\\Junk", b"\\Trash", b"\\Archive"}
        }
        assert {
            name: tuple(f for f in flags if f != b"\\HasNoChildren")
            for name, flags in special.items()
        } == {name: (flag.encode(),) for name, flag in SPECIAL_USE_FOLDERS.items()}
        status = imap.folder_status("INBOX", ["MESSAGES", "UIDVALIDITY", "HIGHESTMODSEQ"])
        assert status[b"MESSAGES"] == 0
        assert status[b"HIGHESTMODSEQ"] >= 1


def test_starttls_on_plain_port(dovecot: Dovecot, imap_user: ImapUser) -> None:
    with IMAPClient(dovecot.host, port=dovecot.plain_port, ssl=False) as imap:
        assert b"STARTTLS" in imap.capabilities()
        imap.starttls(ssl.create_default_context(cafile=str(dovecot.ca_file)))
        assert isinstance(imap.socket(), ssl.SSLSocket)
        imap.login(imap_user.username, imap_user.password)
        assert imap.select_folder("INBOX")[b"EXISTS"] == 0


def test_plaintext_login_is_possible_without_tls(dovecot: Dovecot, imap_user: ImapUser) -> None:
    # The server must allow it, so that tests can check the *client* refuses.
    with IMAPClient(dovecot.host, port=dovecot.plain_port, ssl=False) as imap:
        assert b"LOGINDISABLED" not in imap.capabilities()
        imap.login(imap_user.username, imap_user.password)


def test_wrong_password_is_rejected(dovecot: Dovecot, imap_user: ImapUser) -> None:
    with (
        IMAPClient(
            dovecot.host, port=dovecot.tls_port, ssl=True, ssl_context=dovecot.ssl_context()
        ) as imap,
        pytest.raises(LoginError),
    ):
        imap.login(imap_user.username, imap_user.password + "x")


def test_wrong_ca_fails_verification(dovecot: Dovecot) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        IMAPClient(
            dovecot.host,
            port=dovecot.tls_port,
            ssl=True,
            ssl_context=dovecot.ssl_context(wrong_ca=True),
        )
    imap = IMAPClient(dovecot.host, port=dovecot.plain_port, ssl=False)
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            imap.starttls(dovecot.ssl_context(wrong_ca=True))
    finally:
        with contextlib.suppress(OSError):  # the failed handshake closed the socket
            imap.shutdown()


def test_hostname_mismatch_fails_verification(dovecot: Dovecot) -> None:
    context = dovecot.ssl_context()
    for good_name in ("localhost", dovecot.host):
        with (
            socket.create_connection((dovecot.host, dovecot.tls_port)) as raw,
            context.wrap_socket(raw, server_hostname=good_name) as tls,
        ):
            assert tls.recv(4).startswith(b"* OK")
    with (
        socket.create_connection((dovecot.host, dovecot.tls_port)) as raw,
        pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"),
    ):
        context.wrap_socket(raw, server_hostname=MISMATCH_HOSTNAME)


def test_usernames_are_case_insensitive_email_addresses(dovecot: Dovecot) -> None:
    dovecot.add_user("Mixed.Case@Example.COM", "secret-pw")
    for name in ("Mixed.Case@Example.COM", "mixed.case@example.com"):
        with IMAPClient(
            dovecot.host, port=dovecot.tls_port, ssl_context=dovecot.ssl_context()
        ) as imap:
            imap.login(name, "secret-pw")


def test_append_internaldate_and_flags_round_trip(dovecot: Dovecot, imap_user: ImapUser) -> None:
    when = datetime(2019, 7, 4, 13, 37, 42, tzinfo=timezone(timedelta(hours=2)))
    raw = _message("round trip")
    uid = dovecot.append(
        imap_user.username, "Archive", raw, internaldate=when, flags=["\\Seen", "\\Flagged"]
    )
    with dovecot.client(imap_user.username) as imap:
        imap.normalise_times = False
        imap.select_folder("Archive", readonly=True)
        data = imap.fetch([uid], ["INTERNALDATE", "FLAGS", "BODY.PEEK[]"])[uid]
    assert data[b"INTERNALDATE"] == when
    assert set(data[b"FLAGS"]) >= {b"\\Seen", b"\\Flagged"}
    assert data[b"BODY[]"] == raw


def test_create_and_delete_folder(dovecot: Dovecot, imap_user: ImapUser) -> None:
    dovecot.create_folder(imap_user.username, "Projects/v1.2")
    with dovecot.client(imap_user.username) as imap:
        assert imap.folder_exists("Projects/v1.2")
    dovecot.delete_folder(imap_user.username, "Projects/v1.2")
    with dovecot.client(imap_user.username) as imap:
        assert not imap.folder_exists("Projects/v1.2")


@pytest.mark.parametrize("folder", ["INBOX", "Lists/python"])
def test_change_uidvalidity(dovecot: Dovecot, imap_user: ImapUser, folder: str) -> None:
    if folder != "INBOX":
        dovecot.create_folder(imap_user.username, folder)
    dovecot.append(imap_user.username, folder, _message("keep me"))
    before = dovecot.uidvalidity(imap_user.username, folder)
    with dovecot.client(imap_user.username) as watcher:
        watcher.select_folder(folder)
        new = dovecot.change_uidvalidity(imap_user.username, folder)
        # Dovecot drops sessions that had the folder selected.
        with pytest.raises(IMAPClient.AbortError):
            watcher.noop()
    assert new != before
    with dovecot.client(imap_user.username) as imap:
        selected = imap.select_folder(folder)
        assert selected[b"UIDVALIDITY"] == new
        assert imap.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"] == new
        assert selected[b"EXISTS"] == 1
        (body,) = (v[b"BODY[]"] for v in imap.fetch(imap.search("ALL"), ["BODY.PEEK[]"]).values())
        assert b"keep me" in body


def test_bulk_append(dovecot: Dovecot, imap_user: ImapUser) -> None:
    start = datetime(2022, 3, 1, 8, 0, tzinfo=UTC)
    count = 2_000
    messages = ((_message(f"bulk {i}"), start + timedelta(minutes=i)) for i in range(count - 1))
    assert dovecot.bulk_append(imap_user.username, "Bulk", messages, flags=["\\Seen"]) == count - 1
    last = [(_message(f"bulk {count - 1}"), start + timedelta(minutes=count - 1))]
    assert dovecot.bulk_append(imap_user.username, "Bulk", last, flags=["\\Seen"]) == 1
    dovecot.append(imap_user.username, "Bulk", _message("after bulk"))
    with dovecot.client(imap_user.username) as imap:
        imap.normalise_times = False
        assert imap.select_folder("Bulk", readonly=True)[b"EXISTS"] == count + 1
        uids = imap.search("ALL")
        assert uids == list(range(1, count + 2))  # UIDs follow iteration order
        sample = [1, 2, 1000, count]
        data = imap.fetch(sample, ["INTERNALDATE", "FLAGS", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
        for uid in sample:
            assert data[uid][b"INTERNALDATE"] == start + timedelta(minutes=uid - 1)
            assert b"\\Seen" in data[uid][b"FLAGS"]
            assert (
                data[uid][b"BODY[HEADER.FIELDS (SUBJECT)]"].strip()
                == f"Subject: bulk {uid - 1}".encode()
            )
        assert b"after bulk" in imap.fetch([count + 1], ["BODY.PEEK[]"])[count + 1][b"BODY[]"]
