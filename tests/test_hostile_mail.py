"""Hostile mail on a real Dovecot: no message stops, fools or slows the sync (issue 14)."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from connectors.base import HeaderRecord
from syncd import engine
from syncd.model import Interaction
from tests.dovecot import Dovecot, ImapUser
from tests.helpers import Env, day, imap_account, make_env, message

ME = "me@example.com"
DATE = "Mon, 03 Mar 2025 12:00:00 +0000"


def raw(headers: str) -> bytes:
    """A message whose header block is exactly ``headers`` (lines joined with CRLF)."""
    return (headers.strip("\n").replace("\n", "\r\n") + "\r\n\r\nbody\r\n").encode(
        "utf-8", "surrogateescape"
    )


#: Each of these once stopped an account for good, misdirected it, or took minutes.
POISON: dict[str, bytes] = {
    "nested comments": raw(f"From: p1@example.org {'(' * 5000}x{')' * 5000}\nDate: {DATE}"),
    "nested groups": raw(f"From: {'a:' * 5000}p2@example.org\nDate: {DATE}"),
    "message-id > before <": raw(f"From: p3@example.org\nDate: {DATE}\nMessage-ID: x> <a@b"),
    "year 9999": raw("From: p4@example.org\nDate: Fri, 31 Dec 9999 23:59:59 -0500"),
    "non-ASCII charset": raw(f"From: =?\u00fc?q?x?= <p5@example.org>\nDate: {DATE}"),
    "utf-7 surrogate": raw(f"From: =?utf-7?q?+2D3-?= <p6@example.org>\nDate: {DATE}"),
    "escaped quotes": raw('From: "' + '\\"' * 10000 + f" <p7@example.org>\nDate: {DATE}"),
    "raw 8-bit and encoded": raw(
        f"From: \u674e =?utf-8?q?=E5=9B=9B?= <p8@example.org>\nDate: {DATE}"
    ),
    "folded thousands of times": raw(
        "From: me@example.com\nTo: " + ",\n ".join(f"r{i}@example.org" for i in range(3000))
    ),
    "injection": raw(
        "From: =?utf-8?q?ceo=40bank=2Eexample=2C?= <eve@attacker.example>\nDate: " + DATE
    ),
}


@pytest.fixture
def env(tmp_path: Path, dovecot: Dovecot, imap_user: ImapUser) -> Env:
    return make_env(tmp_path, imap_account(dovecot, imap_user), identity=(ME,))


def recorded(env: Env) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(env.db) as db:
        rows = db.execute("SELECT address, name, direction FROM interactions").fetchall()
    return {address: (name, direction) for address, name, direction in rows}


def fill(dovecot: Dovecot, user: ImapUser) -> None:
    """Ordinary mail from o0..o9 with every poison message between them."""
    poison = list(POISON.values())
    for n in range(10):
        ordinary = message(f"Ordinary {n} <o{n}@example.org>", ME, date=day(n + 1))
        dovecot.append(user.username, "INBOX", ordinary, day(n + 1))
        if n < len(poison):
            dovecot.append(user.username, "INBOX", poison[n], day(n + 1))


def test_every_poison_message_is_read_and_the_account_keeps_syncing(
    env: Env, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    fill(dovecot, imap_user)
    result = env.run("sync", "--once")
    assert result.exit_code == 0, result.output
    assert "20 messages scanned" in result.stdout
    assert "skipped" not in result.stdout  # the rules read every one of them
    seen = recorded(env)
    assert {f"o{n}@example.org" for n in range(10)} <= seen.keys()
    for n in (1, 3, 5, 6, 8):  # poison that is still a real message from pN
        assert f"p{n}@example.org" in seen, n
    assert seen["p5@example.org"][0] == "=?\u00fc?q?x?="  # an unknown charset stays as written
    assert seen["p8@example.org"][0] == "\u674e \u56db"
    assert len([a for a in seen if a.startswith("r")]) == 3000
    # The injection: the encoded name is a name, not an address.
    assert "ceo@bank.example" not in seen
    assert seen["eve@attacker.example"] == ("ceo@bank.example,", "received")
    for address, (name, _) in seen.items():  # everything stored is clean text
        assert "\0" not in name and "\0" not in address
        name.encode("utf-8")
        address.encode("utf-8")


def test_a_message_the_rules_cannot_read_is_skipped_and_the_cursor_still_moves(
    env: Env,
    dovecot: Dovecot,
    imap_user: ImapUser,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The net under the rules: a fault in them skips the message, not the account."""
    for n in range(5):
        subject = "unreadable" if n in (1, 3) else "hi"
        dovecot.append(
            imap_user.username,
            "INBOX",
            message(f"o{n}@example.org", ME, subject=subject, date=day(n + 1)),
            day(n + 1),
        )
    real = engine.interactions

    def faulty(record: HeaderRecord, *args: object, **kwargs: object) -> list[Interaction]:
        if b"Subject: unreadable" in record.headers:
            raise RecursionError("a fault in the rules")
        return real(record, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "interactions", faulty)
    with caplog.at_level(logging.INFO, logger="weakties.engine"):
        result = env.run("-v", "sync", "--once")
    assert result.exit_code == 0, result.output
    assert "5 messages scanned, 3 new interactions, 2 skipped" in result.stdout
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 2
    assert all("'INBOX'" in line and "RecursionError" in line for line in skipped)
    assert {line.split("UID ")[1].split(")")[0] for line in skipped} == {"2", "4"}
    assert set(recorded(env)) == {"o0@example.org", "o2@example.org", "o4@example.org"}

    again = env.run("sync", "--once")  # the cursor was saved with the batch
    assert "0 messages scanned, 0 new interactions" in again.stdout
