"""Property-based tests of the header rules and the address parser (hypothesis, issue 14).

The default profile runs a few hundred examples per property (fast CI); the
``long`` profile (``HYPOTHESIS_PROFILE=long``) runs 10,000 and more. Asserted:

* nothing ever raises, on any bytes;
* every text the rules hand to the store is valid UTF-8 without NUL;
* on well-formed address lists, the addresses (and names) equal those of an
  independent oracle: the standard library's ``email`` package with
  ``policy.default``, its addr-specs put through the same ``normalize``;
* a 100 KB header of any shape is read in time linear in its size (checked
  with 10x slack here; the real figures are ``python -m bench.hostile_headers``).
"""

from __future__ import annotations

import base64
import os
import time
from datetime import UTC, datetime
from email import policy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base import FolderRole, HeaderRecord
from syncd.addresses import normalize, parse_list
from syncd.rules import identities, interactions

settings.register_profile(
    "default", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long", max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ME = identities(["me@example.com"])
SERVER = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)

# --- generators -----------------------------------------------------------------------------

#: Letters from many scripts, and the characters that are syntax in an address list.
SCRIPTS = st.sampled_from(
    "abcXYZ\u00e9\u00fc\u00df\u0142\u0416\u044f\u03a9\u05d0\u0627\u0928\u0e01"
    "\u4e2d\u6587\u3042\u30ab\ud55c\U0001f600"
)
SPECIALS = st.sampled_from(list(',;:<>@()[]"\\. '))
NAME_TEXT = st.text(st.one_of(SCRIPTS, SPECIALS), min_size=1, max_size=20).filter(
    lambda t: t.strip()
)
ATOM = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789"), min_size=1, max_size=8)
LOCAL = st.lists(ATOM, min_size=1, max_size=3).map(".".join)
DOMAIN = st.lists(ATOM, min_size=2, max_size=3).map(".".join)
ADDRESS = st.builds(lambda local, domain: f"{local}@{domain}", LOCAL, DOMAIN)


def quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encoded(text: str, how: str) -> str:
    data = text.encode("utf-8")
    if how == "b":
        return "=?utf-8?b?" + base64.b64encode(data).decode() + "?="
    q = "".join(chr(b) if chr(b).isalnum() and b < 128 else f"={b:02X}" for b in data)
    return "=?UTF-8?Q?" + q + "?="


@st.composite
def display_name(draw: st.DrawFn) -> tuple[str, str]:
    """``(as written, as a mail client shows it)``."""
    text = draw(NAME_TEXT)
    how = draw(st.sampled_from(["quoted", "q", "b", "atoms"]))
    if how == "atoms":
        words = draw(st.lists(ATOM, min_size=1, max_size=3))
        return " ".join(words), " ".join(words)
    shown = " ".join(text.split())
    if how == "quoted":
        return quoted(text), shown
    return encoded(text, how), text


@st.composite
def mailbox(draw: st.DrawFn) -> str:
    address = draw(ADDRESS)
    shape = draw(st.sampled_from(["bare", "angle", "named", "comment"]))
    if shape == "bare":
        return address
    if shape == "angle":
        return f"<{address}>"
    if shape == "comment":
        return f"{address} ({draw(ATOM)}, {draw(ATOM)})"
    return f"{draw(display_name())[0]} <{address}>"


@st.composite
def address_list(draw: st.DrawFn) -> str:
    """A well-formed RFC 5322 address list: mailboxes, groups, optional folding."""
    items: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.integers(0, 4)) == 0:
            members = draw(st.lists(mailbox(), max_size=3))
            items.append(f"{draw(ATOM)}: {', '.join(members)};")
        else:
            items.append(draw(mailbox()))
    separator = draw(st.sampled_from([", ", ",", ",\r\n ", " , "]))
    return separator.join(items)


def oracle(value: str) -> list[tuple[str, str]]:
    """The standard library's reading of an address list, normalised like ours."""
    header = policy.default.header_factory("To", value)
    found = []
    for address in header.addresses:
        normal = normalize(address.addr_spec)
        if normal is not None:
            found.append((" ".join(address.display_name.split()), normal))
    return found


HOSTILE_UNITS = st.sampled_from(
    [
        "(",
        ")",
        '"',
        '\\"',
        "\\",
        "<",
        ">",
        ",",
        ";",
        ":",
        "@",
        "a:",
        "g:a@b.org;",
        "(x)",
        '"a\\"b" ',
        "=?utf-8?q?=2C?= ",
        "=?\u00fc?q?x?= ",
        "=?utf-7?q?+2D3-?= ",
        "=?x-bogus?b?////?= ",
        "\0",
        "\r",
        "\n",
        "\r\n ",
        "\r\n\t\r\n ",
        "\u674e",
        "\udcff",
        "a@b.org, ",
        '"Last, First" <f@x.org>, ',
    ]
)


def block(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogatepass")


def check_clean(record: HeaderRecord) -> None:
    """The rules never raise, and everything they produce is storable text."""
    for i in interactions(record, ME):
        for text in (i.address, i.name, i.subject or "", i.message_id or "", i.folder):
            assert "\0" not in text
            text.encode("utf-8")  # no lone surrogates
        assert i.at.tzinfo is not None


def rec(raw: bytes, role: FolderRole = FolderRole.NORMAL) -> HeaderRecord:
    return HeaderRecord(headers=raw, server_time=SERVER, folder="INBOX", role=role)


# --- properties ---------------------------------------------------------------------------------


@given(st.binary(max_size=2000), st.sampled_from(list(FolderRole)))
def test_any_bytes_never_raise(raw: bytes, role: FolderRole) -> None:
    check_clean(rec(raw, role))
    check_clean(rec(b"From: " + raw + b"\r\nTo: " + raw + b"\r\n\r\n", FolderRole.SENT))


@given(
    st.lists(HOSTILE_UNITS, max_size=60).map("".join),
    st.lists(st.sampled_from(["From", "To", "Cc", "Subject", "Date", "Message-ID"]), max_size=6),
    st.sampled_from(
        [
            "Mon, 10 Mar 2025 09:00:00 +0000",
            "Fri, 31 Dec 9999 23:59:59 -0500",
            "Thu, 01 Jan 1970 00:00:00 +2400",
            "32 Foo 0000 99:99:99",
            "",
        ]
    ),
)
def test_hostile_header_blocks_never_raise_and_store_clean_text(
    hostile: str, duplicates: list[str], date: str
) -> None:
    lines = [f"From: {hostile} <x@example.org>", f"To: {hostile}", f"Date: {date}"]
    lines += [f"{name}: {hostile}" for name in duplicates]  # duplicate and missing fields
    check_clean(rec(block(*lines)))
    check_clean(rec(block("From: me@example.com", *lines[1:]), FolderRole.SENT))
    for name, address in parse_list(hostile):
        assert "\0" not in name
        name.encode("utf-8")
        assert address == normalize(address)


@given(address_list())
def test_well_formed_lists_agree_with_the_standard_library(value: str) -> None:
    unfolded = value.replace("\r\n", "")
    ours, theirs = parse_list(unfolded), oracle(unfolded)
    assert [a for _, a in ours] == [a for _, a in theirs]
    for (name, _), (expected, _) in zip(ours, theirs, strict=True):
        # Where the stdlib has no name, a mail client shows the comment: so do we.
        assert name == expected or not expected


@given(address_list())
def test_address_headers_in_a_block_agree_with_the_standard_library(value: str) -> None:
    """Through the whole rules: folding, From/To, and the injection guard."""
    raw = block("From: me@example.com", f"To: {value}", "Date: Mon, 10 Mar 2025 09:00:00 +0000")
    got = [(i.name, i.address) for i in interactions(rec(raw, FolderRole.SENT), ME)]
    expected, seen = [], set()
    for name, address in oracle(value.replace("\r\n", "")):
        if address not in seen and address not in ME:
            seen.add(address)
            expected.append((name, address))
    assert [a for _, a in got] == [a for _, a in expected]
    assert all(n == e or not e for (n, _), (e, _) in zip(got, expected, strict=True))


@settings(max_examples=20)
@given(st.lists(HOSTILE_UNITS, min_size=1, max_size=5).map("".join))
def test_a_100kb_header_of_any_shape_is_read_in_linear_time(unit: str) -> None:
    """Generous (10x the 50 ms target): a guard against quadratic work, not a benchmark."""
    value = unit * (100_000 // len(unit.encode("utf-8", "surrogatepass")))
    for raw in (
        block(f"From: {value} <x@example.org>", "Date: Mon, 10 Mar 2025 09:00:00 +0000"),
        block("From: me@example.com", f"To: {value}", f"Subject: {value}"),
    ):
        started = time.perf_counter()
        check_clean(rec(raw, FolderRole.SENT))
        assert time.perf_counter() - started < 0.5


def test_five_thousand_addresses_are_all_read() -> None:
    value = ", ".join(f'"User, {i}" <u{i}@example.org>' for i in range(5000))
    raw = block("From: me@example.com", f"To: {value}", "Date: Mon, 10 Mar 2025 09:00:00 +0000")
    started = time.perf_counter()
    found = interactions(rec(raw), ME)
    assert time.perf_counter() - started < 0.5
    assert len(found) == 5000 and found[-1].name == "User, 4999"


@given(st.one_of(address_list(), st.lists(HOSTILE_UNITS, max_size=40).map("".join)))
def test_the_fast_path_and_the_full_parser_agree(value: str) -> None:
    from syncd.addresses import _parse_full, _parse_simple, clean

    value = clean(value.replace("\r\n", ""))
    simple = _parse_simple(value)
    if simple is not None:
        assert simple == _parse_full(value)
