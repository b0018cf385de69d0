"""The rules on raw header bytes: what counts as an interaction, and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import FolderRole, HeaderRecord
from syncd.addresses import normalize, parse_list
from syncd.rules import Direction, identities, interactions, message_time

ME = identities(["me@example.com", "Alias@Example.com"])
SERVER = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def record(
    headers: str | bytes,
    role: FolderRole = FolderRole.NORMAL,
    server_time: datetime | None = SERVER,
) -> HeaderRecord:
    raw = headers.encode() if isinstance(headers, str) else headers
    return HeaderRecord(
        headers=raw.replace(b"\n", b"\r\n"), server_time=server_time, folder="INBOX", role=role
    )


def found(headers: str | bytes, **kw: object) -> list[tuple[str, str]]:
    return [(i.direction.value, i.address) for i in interactions(record(headers, **kw), ME)]


RECEIVED = """From: Priya Patel <priya@example.org>
To: me@example.com
Date: Mon, 10 Mar 2025 09:00:00 +0100
Message-ID: <abc@example.org>
Subject: hello

"""


def test_received_counts_the_sender_only() -> None:
    msg = RECEIVED.replace("To: me@example.com", "To: me@example.com\nCc: carol@example.net")
    result = interactions(record(msg), ME)
    assert [(i.direction, i.address, i.name) for i in result] == [
        (Direction.RECEIVED, "priya@example.org", "Priya Patel")
    ]
    assert result[0].at == datetime(2025, 3, 10, 8, 0, tzinfo=UTC)
    assert result[0].dedupe_key == "mid:<abc@example.org>"
    assert result[0].subject == "hello"


def test_sent_counts_to_cc_and_bcc_but_not_me() -> None:
    msg = """From: Me <ME@example.com>
To: "Bob B" <bob@example.org>, alias@example.com
Cc: carol@example.net
Bcc: dave@example.net, bob@example.org
Date: Mon, 10 Mar 2025 09:00:00 +0000
Message-ID: <s1@example.com>

"""
    assert found(msg, role=FolderRole.SENT) == [
        ("sent", "bob@example.org"),
        ("sent", "carol@example.net"),
        ("sent", "dave@example.net"),
    ]
    # In any folder, From: me makes it a sent message.
    assert found(msg) == found(msg, role=FolderRole.SENT)


@pytest.mark.parametrize(
    "extra",
    [
        "List-Id: <news.example.org>",
        "List-Unsubscribe: <mailto:unsub@example.org>",
        "Precedence: bulk",
        "Precedence: List",
        "Precedence: junk",
        "Auto-Submitted: auto-replied",
        "Auto-Submitted: auto-generated; type=bounce",
    ],
)
def test_bulk_and_automated_mail_does_not_count(extra: str) -> None:
    assert found(RECEIVED.replace("Subject: hello", f"Subject: hello\n{extra}")) == []


def test_auto_submitted_no_still_counts() -> None:
    msg = RECEIVED.replace("Subject: hello", "Subject: hello\nAuto-Submitted: no")
    assert found(msg) == [("received", "priya@example.org")]


def test_bulk_sent_by_me_still_counts() -> None:
    msg = (
        "From: me@example.com\nTo: list@example.org\nList-Id: <x>\n"
        "Date: Mon, 10 Mar 2025 09:00:00 +0000\n\n"
    )
    assert found(msg) == [("sent", "list@example.org")]


@pytest.mark.parametrize("role", [FolderRole.DRAFTS, FolderRole.JUNK, FolderRole.TRASH])
def test_drafts_junk_and_trash_never_count(role: FolderRole) -> None:
    assert found(RECEIVED, role=role) == []


def test_rfc2047_names_upper_case_and_subaddresses() -> None:
    msg = RECEIVED.replace(
        "From: Priya Patel <priya@example.org>",
        "From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <Joerg+Lists@EXAMPLE.org>",
    )
    [i] = interactions(record(msg), ME)
    assert (i.name, i.address) == ("Jörg Müller", "joerg@example.org")


def test_encoded_subject_and_eight_bit_headers() -> None:
    msg = RECEIVED.replace("Subject: hello", "Subject: =?iso-8859-1?q?caf=E9?= ok").encode()
    assert interactions(record(msg), ME)[0].subject == "café ok"
    raw = (
        RECEIVED.replace("Subject: hello", "Subject: Grüße aus Köln")
        .replace("From: Priya Patel", "From: Zoë Ünal")
        .encode("utf-8")
    )
    [i] = interactions(record(raw), ME)
    assert (i.subject, i.name, i.address) == ("Grüße aus Köln", "Zoë Ünal", "priya@example.org")
    latin1 = RECEIVED.replace("Subject: hello", "Subject: caf\xe9").encode("latin-1")
    assert interactions(record(latin1), ME)[0].subject == "caf\ufffd"  # replaced, not crashed


def test_gmail_dots_and_googlemail() -> None:
    assert normalize("Pri.Ya.Patel+x@GoogleMail.com") == "priyapatel@gmail.com"
    assert normalize("pri.ya@example.org") == "pri.ya@example.org"  # dots matter elsewhere
    msg = RECEIVED.replace("priya@example.org", "P.r.i.y.a@gmail.com")
    assert found(msg) == [("received", "priya@gmail.com")]


def test_undisclosed_recipients_and_garbage() -> None:
    msg = (
        "From: me@example.com\nTo: undisclosed-recipients:;\nBcc: bob@example.org\n"
        "Date: Mon, 10 Mar 2025 09:00:00 +0000\n\n"
    )
    assert found(msg) == [("sent", "bob@example.org")]
    assert parse_list("not an address") == []
    assert parse_list("") == []


def test_crafted_address_is_rejected() -> None:
    # CVE-2023-27043: older getaddresses() reads two addresses into this value.
    assert parse_list("alice@example.org)<bob@example.org>") == []
    assert parse_list("alice@example.org <bob@example.org>") == []
    assert parse_list('"Smith, Bob" <bob@example.org>, c@example.net') == [
        ("Smith, Bob", "bob@example.org"),
        ("", "c@example.net"),
    ]
    msg = RECEIVED.replace(
        "From: Priya Patel <priya@example.org>", "From: alice@example.org)<bob@example.org>"
    )
    assert found(msg) == []


def test_missing_sender_or_no_headers() -> None:
    assert found("To: me@example.com\nDate: Mon, 10 Mar 2025 09:00:00 +0000\n\n") == []
    assert found(b"") == []


def test_message_without_id_gets_a_stable_key() -> None:
    msg = RECEIVED.replace("Message-ID: <abc@example.org>\n", "")
    first = interactions(record(msg), ME)[0]
    again = interactions(record(msg, server_time=SERVER + timedelta(days=3)), ME)[0]
    other = interactions(record(msg.replace("hello", "hi")), ME)[0]
    assert first.message_id is None
    assert first.dedupe_key.startswith("hdr:")
    assert first.dedupe_key == again.dedupe_key != other.dedupe_key


@pytest.mark.parametrize(
    "date, expected",
    [
        ("Mon, 10 Mar 2025 09:00:00 +0100", datetime(2025, 3, 10, 8, 0, tzinfo=UTC)),
        ("Mon, 10 Mar 2025 09:00:00 -0000", datetime(2025, 3, 10, 9, 0, tzinfo=UTC)),
        ("Mon, 10 Mar 2025 09:00:00", datetime(2025, 3, 10, 9, 0, tzinfo=UTC)),
        ("", SERVER),
        ("yesterday-ish", SERVER),
        ("Thu, 99 Foo 2025 99:99:99 +0000", SERVER),
        ("Mon, 10 Mar 2031 09:00:00 +0000", SERVER),  # more than a day in the future
        ("Tue, 11 Mar 2025 11:00:00 +0000", datetime(2025, 3, 11, 11, 0, tzinfo=UTC)),  # < 1 day
    ],
)
def test_message_time(date: str, expected: datetime) -> None:
    assert message_time(date, SERVER) == expected


def test_missing_date_uses_server_time_in_a_record() -> None:
    msg = RECEIVED.replace("Date: Mon, 10 Mar 2025 09:00:00 +0100\n", "")
    assert interactions(record(msg), ME)[0].at == SERVER


def test_no_time_at_all_is_skipped() -> None:
    msg = RECEIVED.replace("Date: Mon, 10 Mar 2025 09:00:00 +0100\n", "")
    assert found(msg, server_time=None) == []


def test_subjects_can_be_left_out() -> None:
    [i] = interactions(record(RECEIVED), ME, keep_subjects=False)
    assert i.subject is None


@pytest.mark.parametrize(
    "value, fast",
    [
        ("bob@example.org", True),
        ("Bob <bob@example.org>", True),
        ("  Bob   Smith  <Bob.Smith+x@Example.ORG> , carol@example.net,", True),
        ("=?UTF-8?Q?J=C3=B6rg?= <j@example.org>, =?utf-8?b?WsO2ZQ==?= <z@example.org>", True),
        ("<bare@example.org>", True),
        ("Dots.In.Gmail@googlemail.com", True),
        ("bob@example.org, not-an-address, carol@example.net", False),
        ("alice@example.org <bob@example.org>", False),
        ("alice@example.org)<bob@example.org>", False),
        ('"Smith, Bob" <bob@example.org>', False),
        ("team: a@example.org, b@example.org;", False),
        ("Bob <bob@example.org", False),
    ],
)
def test_fast_address_path_agrees_with_the_full_parser(value: str, fast: bool) -> None:
    from syncd.addresses import _parse_full, _parse_simple

    simple = _parse_simple(value)
    assert (simple is not None) == fast  # it answers the everyday shapes, nothing odd
    if simple is not None:
        assert simple == _parse_full(value)


def test_message_id_with_gt_before_lt_does_not_raise() -> None:
    from syncd.rules import _message_id

    assert _message_id("x> <a@b>") == "<a@b>"
    assert _message_id("a> <b") == "a> <b"


def test_year_9999_date_with_negative_offset_falls_back_to_server_time() -> None:
    from datetime import UTC, datetime

    from syncd.rules import message_time

    server = datetime(2026, 1, 1, tzinfo=UTC)
    assert message_time("Fri, 31 Dec 9999 23:59:59 -0500", server) == server


def test_comment_before_an_angle_address_is_its_name() -> None:
    from syncd.addresses import parse_list

    assert parse_list("(Bob Smith) <bob@x.org>, a@b.org (Alice, A)") == [
        ("Bob Smith", "bob@x.org"),
        ("Alice, A", "a@b.org"),
    ]


_JP = "=?iso-2022-jp?b?GyRCOzNFREJATzobKEI=?="  # 山田太郎


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a@example.org (Smith, Bob)", [("Smith, Bob", "a@example.org")]),
        (r"(\) x) a@example.org", [(") x", "a@example.org")]),
        (
            "=?utf-8?q?a=3Bb=40c_=3Cd=40e=3E?= <x@example.org>",
            [("a;b@c <d@e>", "x@example.org")],
        ),
        (', "Müller, Hans" <h@x.org>', [("Müller, Hans", "h@x.org")]),
        ("李 =?utf-8?q?=E5=9B=9B?= <l@x.org>", [("李 四", "l@x.org")]),
        ("=?utf-8?q?Smith=2C_Bob?= <b@x.org>", [("Smith, Bob", "b@x.org")]),
        (f"{_JP} <y@x.org>", [("山田太郎", "y@x.org")]),
        ("\u212aaren@example.org", [("", "\u212aaren@example.org")]),  # KELVIN SIGN stays
        ('"john"@x.org', [("", "john@x.org")]),
        ("john doe@x.org", []),  # two words are no local part
        ("<@a.example,@b.example:x@y.org>", [("", "x@y.org")]),
        ('"open <a@x.org>, b@y.org', []),  # an unterminated quote spoils the rest only
        ('b@y.org, "open <a@x.org>, c@z.org', [("", "b@y.org")]),
        ("a@x)<b@y.org>, c@z.org", [("", "c@z.org")]),
        (
            "team: a@x.org, (c) b@x.org;, d@x.org",
            [("", "a@x.org"), ("c", "b@x.org"), ("", "d@x.org")],
        ),
    ],
)
def test_address_lists_as_rfc_5322_reads_them(value: str, expected: list[tuple[str, str]]) -> None:
    assert parse_list(value) == expected


def test_encoded_address_syntax_is_a_name_never_an_address() -> None:
    """CVE-2023-27043 through RFC 2047: parse the list first, decode names after."""
    msg = RECEIVED.replace(
        "From: Priya Patel <priya@example.org>",
        "From: =?utf-8?q?ceo=40bank=2Eexample=2C?= <eve@attacker.example>",
    )
    [i] = interactions(record(msg), ME)
    assert (i.address, i.name) == ("eve@attacker.example", "ceo@bank.example,")
    sent = f"From: me@example.com\nTo: =?utf-8?b?{'YUB4Lm9yZywgYkB5Lm9yZw=='}?= <c@z.org>\n"
    sent += "Date: Mon, 10 Mar 2025 09:00:00 +0000\n\n"
    assert found(sent) == [("sent", "c@z.org")]  # "a@x.org, b@y.org" is c's name


def test_whitespace_only_continuation_lines_and_bare_cr_fold() -> None:
    raw = (
        b"From: Priya\r\n \r\n\t\r\n <priya@example.org>\r\nSubject: a\rb\r\n"
        b"Date: Mon, 10 Mar 2025 09:00:00 +0000\r\n\r\n"
    )
    [i] = interactions(HeaderRecord(raw, SERVER, "INBOX", FolderRole.NORMAL), ME)
    assert (i.address, i.name, i.subject) == ("priya@example.org", "Priya", "a")


def test_nuls_surrogates_and_raw_bytes_never_reach_the_store() -> None:
    raw = (
        b"From: =?utf-7?q?+2D3-?= Pr\x00iya \xff <priya@example.org>\r\n"
        b"Subject: =?\xc3\xbc?q?x?= \x00 =?utf-7?b?K2RnQS0=?=\r\n"
        b"Message-ID: <a\x00b@x>\r\nDate: Mon, 10 Mar 2025 09:00:00 +0000\r\n\r\n"
    )
    [i] = interactions(HeaderRecord(raw, SERVER, "IN\udcffBOX", FolderRole.NORMAL), ME)
    for text in (i.name, i.subject, i.message_id, i.folder, i.dedupe_key):
        assert text is not None and "\0" not in text
        text.encode("utf-8")
