"""The IMAP connector's direct FETCH reader against imapclient's full parser.

The connector reads the usual response shape itself (speed) and hands
anything else to imapclient; these tests keep the two in agreement on a real
Dovecot's answers and check every odd shape falls back instead of guessing.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime, timedelta, timezone

import pytest
from imapclient.datetime_util import parse_to_datetime
from imapclient.exceptions import IMAPClientError

from connectors import imap
from connectors.base import FolderRole
from tests.dovecot import Dovecot, ImapUser
from tests.helpers import day, message

ME = "me@example.com"
INBOX = imap.Folder("INBOX", FolderRole.NORMAL)
ITEMS = f"({imap._FETCH_HEADERS} INTERNALDATE)"


def test_direct_reader_agrees_with_imapclient_on_dovecot(
    dovecot: Dovecot, imap_user: ImapUser
) -> None:
    u = imap_user.username
    india = timezone(timedelta(hours=5, minutes=30))
    dovecot.append(
        u, "INBOX", message("a@example.org", ME, date=day(1), message_id="<1@x>"), day(1)
    )
    dovecot.append(
        u,
        "INBOX",
        b"X-Nothing-We-Fetch: 1\r\n\r\nbody\r\n",
        datetime(2025, 3, 2, 23, 59, 59, tzinfo=india),
    )
    dovecot.append(
        u,
        "INBOX",
        "From: Zoë <z@example.org>\r\nTo: me@example.com,\r\n"
        " other@example.org\r\nSubject: caf\u00e9 {3}\r\n\r\nb\r\n".encode(),
        datetime(2025, 3, 3, 1, 2, 3, tzinfo=timezone(-timedelta(hours=8))),
    )
    dovecot.append(u, "INBOX", message("b@example.org", ME, subject='quote " ) ( {9}'), day(4))
    client = dovecot.client(u)
    try:
        client.select_folder("INBOX", readonly=True)
        fetch = imap._Pipeline(client, ITEMS)
        for low, high in ((1, 4), (2, 3), (1, 10)):
            fetch.send(low, high)
            data = fetch.receive()
            fast = imap._fast_records(data, INBOX, low, high)
            assert fast is not None
            assert fast == imap._parsed_records(data, INBOX, low, high, False)
            assert len(fast) == min(high, 4) - low + 1
        [empty] = imap._fast_records(data, INBOX, 2, 2) or []
        assert empty.headers.strip() == b""
        assert empty.server_time == datetime(2025, 3, 2, 18, 29, 59, tzinfo=UTC)
        fetch.send(20, 30)  # no such UIDs: no FETCH response at all
        assert fetch.receive() == []
    finally:
        client.logout()


LINE = b'7 (UID 7 INTERNALDATE "01-Jan-2020 00:00:00 +0000" BODY[HEADER.FIELDS (FROM DATE)] {7}'


@pytest.mark.parametrize(
    "data",
    [
        [b"7 (UID 7 BODY[HEADER.FIELDS (FROM DATE)] NIL)"],  # no literal
        [b'7 (UID 7 BODY[HEADER.FIELDS (FROM DATE)] "From: a")'],  # quoted
        [(LINE.replace(b"UID 7 ", b""), b"From: a"), b")"],  # no UID
        [(LINE, b"From: a"), b")", (LINE, b"From: b"), b")"],  # the same UID twice
        [(LINE, b"From: a"), (b" X-GM-LABELS {3}", b"abc"), b")"],  # a second literal
        [(LINE.replace(b"BODY[HEADER.FIELDS", b"BODY[HEADER.FIELDS.NOT"), b"From: a"), b")"],
        [(LINE, b"From: ab"), b")"],  # a literal not of its announced size
    ],
)
def test_unusual_shapes_go_to_imapclient(data: list) -> None:
    assert imap._fast_records(data, INBOX, 1, 10) is None
    with contextlib.suppress(IMAPClientError):  # imapclient reads or rejects them
        imap._records(data, INBOX, 1, 10, False)


def test_order_of_items_and_unsolicited_flags() -> None:
    data = [
        b"3 (FLAGS (\\Seen))",  # an unsolicited update: no UID, no header block
        (b"9 (BODY[HEADER.FIELDS (FROM)] {7}", b"From: b"),
        b' UID 9 INTERNALDATE " 5-Feb-2021 10:11:12 -0130")',
        (LINE, b"From: a"),
        b")",
    ]
    records = imap._fast_records(data, INBOX, 1, 10)
    assert records is not None and [r.headers for r in records] == [b"From: a", b"From: b"]
    assert records[1].server_time == datetime(2021, 2, 5, 11, 41, 12, tzinfo=UTC)
    assert records == imap._parsed_records(data[1:], INBOX, 1, 10, False)
    # imapclient would key the FLAGS update by its sequence number, as a message
    # without headers; the direct reader skips it (the rules would drop it anyway).
    assert len(imap._parsed_records(data, INBOX, 1, 10, False)) == 3
    assert imap._fast_records(data, INBOX, 8, 10) == records[1:]  # outside the range: dropped


@pytest.mark.parametrize(
    "raw",
    [
        b"01-Jan-2020 00:00:00 +0000",
        b" 9-Dec-1999 23:59:59 -1200",
        b"29-Feb-2024 12:00:00 +0545",
        b"01-jan-2020 00:00:00 +0100",
        b"01-Jan-2020 00:00 +0000",
    ],
)
def test_internaldate_as_imapclient_reads_it(raw: bytes) -> None:
    ours, theirs = imap._internaldate(raw), parse_to_datetime(raw, normalise=False)
    assert ours == theirs and ours is not None and ours.utcoffset() == theirs.utcoffset()


@pytest.mark.parametrize(
    "raw", [b"", b"garbage", b"32-Jan-2020 00:00:00 +0000", b"01-Foo-2020 00:00:00 +0000"]
)
def test_unreadable_internaldate_is_none(raw: bytes) -> None:
    assert imap._internaldate(raw) is None


def test_protocol_trace_only_when_its_logger_listens(
    dovecot: Dovecot, imap_user: ImapUser, caplog: pytest.LogCaptureFixture
) -> None:
    u = imap_user.username
    dovecot.append(u, "INBOX", message("a@example.org", ME, date=day(1), message_id="<1@x>"))
    client = dovecot.client(u)
    try:
        client.select_folder("INBOX", readonly=True)
        debug = client._imap.debug
        for level, traced in ((logging.INFO, False), (logging.DEBUG, True)):
            caplog.clear()
            with caplog.at_level(level, logger="imapclient.imaplib"):
                fetch = imap._Pipeline(client, ITEMS)
                fetch.send(1, 1)
                assert len(imap._fast_records(fetch.receive(), INBOX, 1, 1) or []) == 1
                fetch.drain()
            assert any("FETCH" in r.getMessage() for r in caplog.records) is traced
            assert client._imap.debug == debug  # restored for everything else
    finally:
        client.logout()


def test_stopping_between_batches_leaves_the_session_usable(
    dovecot: Dovecot, imap_user: ImapUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A FETCH is in flight when the consumer stops (the daemon's stop between batches):
    its answer is read and dropped, and the same session resumes from the saved state."""
    monkeypatch.setattr(imap, "BATCH_SIZE", 3)
    u = imap_user.username
    dovecot.bulk_append(
        u,
        "INBOX",
        [
            (message(f"p{n}@example.org", ME, date=day(1 + n), message_id=f"<{n}@x>"), day(1))
            for n in range(10)
        ],
    )
    settings = imap.ImapSettings(
        host=dovecot.host, port=dovecot.tls_port, username=u, ca_file=str(dovecot.ca_file)
    )
    with imap.connect(settings, imap_user.password) as conn:
        state: dict = {}
        batches = conn.batches(state)
        first = next(batches)
        assert len(first.records) == 3 and conn.client._imap.tagged_commands  # one in flight
        batches.close()
        assert not conn.client._imap.tagged_commands  # its answer was read...
        assert "FETCH" not in conn.client._imap.untagged_responses  # ...and dropped
        state.update(first.state)
        rest = [r for b in conn.batches(state) for r in b.records]
        seen = [r.headers for r in first.records + rest]
        assert len(seen) == 10 == len(set(seen))
        assert conn.client.noop()[0] is not None  # the session still answers in order
