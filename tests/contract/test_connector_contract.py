"""The contract every connector keeps, run against each one (the vdirsyncer way).

One test class, parametrised over the ``mailbox`` fixture (tests/contract/
conftest.py): the IMAP connector on a real Dovecot, the Gmail connector on
the Gmail API stand-in, and the in-memory connector. A new connector adds a
fixture there and must pass all of it.

This is the mail half; the calendar half (CalDAV on Radicale and Xandikos,
an ics directory and an ics https URL, over the ``calendar`` fixture) is
tests/contract/test_calendar_contract.py.
"""

from __future__ import annotations

import email.parser
from datetime import UTC, datetime
from typing import Any

from connectors.base import HEADER_FIELDS, HeaderRecord
from syncd.rules import identities, interactions
from tests.contract.conftest import ME, GmailMailbox, ImapMailbox, Mailbox
from tests.helpers import day, message, one_pass

MINE = identities([ME])
State = dict[str, dict[str, Any]]
Seen = set[tuple[str, str, datetime, str]]


def sample(mailbox: Mailbox) -> None:
    """A small mailbox exercising every rule that depends on where mail sits."""
    deliver = mailbox.deliver
    deliver(
        message(
            "Priya <priya@example.org>",
            ME,
            date=day(1),
            message_id="<r1@x>",
            cc="carol@example.net",
        ),
        "inbox",
        day(1),
    )
    deliver(
        message(
            f"Me <{ME}>",
            "Bob <bob@example.org>",
            cc="dan@example.net",
            date=day(2),
            message_id="<s1@x>",
        ),
        "sent",
        day(2),
    )
    deliver(
        message("Erin <erin@example.org>", ME, date=day(3), message_id="<a1@x>"), "archive", day(3)
    )
    deliver(
        message(
            "News <news@example.org>",
            ME,
            date=day(4),
            message_id="<n1@x>",
            extra="List-Id: <list.example.org>",
        ),
        "inbox",
        day(4),
    )
    deliver(message(ME, "fay@example.org", date=day(5), message_id="<d1@x>"), "drafts", day(5))
    deliver(message("spam@example.org", ME, date=day(6), message_id="<j1@x>"), "junk", day(6))
    deliver(message("gone@example.org", ME, date=day(7), message_id="<t1@x>"), "trash", day(7))
    # No Date header: the server's received time stands in.
    deliver(message("Gus <gus@example.org>", ME, message_id="<nodate@x>"), "inbox", day(8, 9))


EXPECTED: Seen = {
    ("received", "priya@example.org", day(1), "mid:<r1@x>"),
    ("sent", "bob@example.org", day(2), "mid:<s1@x>"),
    ("sent", "dan@example.net", day(2), "mid:<s1@x>"),
    ("received", "erin@example.org", day(3), "mid:<a1@x>"),
    ("received", "gus@example.org", day(8, 9), "mid:<nodate@x>"),
}


def found(records: list[HeaderRecord]) -> Seen:
    return {
        (i.direction.value, i.address, i.at, i.dedupe_key)
        for r in records
        for i in interactions(r, MINE)
    }


def message_ids(records: list[HeaderRecord]) -> list[str]:
    parser = email.parser.BytesHeaderParser()
    return [str(parser.parsebytes(r.headers)["Message-ID"]) for r in records]


class TestConnectorContract:
    def test_full_sync_yields_what_the_rules_count(self, mailbox: Mailbox) -> None:
        sample(mailbox)
        with mailbox.open() as connector:
            records = one_pass(connector, {})
        assert found(records) == EXPECTED
        # Drafts, junk and trash may be read but never count; nothing is read twice.
        ids = message_ids(records)
        assert len(ids) == len(set(ids))
        assert {"<r1@x>", "<s1@x>", "<a1@x>", "<n1@x>", "<nodate@x>"} <= set(ids)

    def test_only_the_rules_header_fields_are_read(self, mailbox: Mailbox) -> None:
        sample(mailbox)
        with mailbox.open() as connector:
            records = one_pass(connector, {})
        wanted = {f.lower() for f in HEADER_FIELDS}
        parser = email.parser.BytesHeaderParser()
        for record in records:
            assert {k.lower() for k in parser.parsebytes(record.headers)} <= wanted
            assert b"SECRET BODY" not in record.headers
            assert b"Content-Type" not in record.headers
            assert record.server_time is not None and record.server_time.tzinfo is not None

    def test_a_pass_with_nothing_new_yields_nothing(self, mailbox: Mailbox) -> None:
        sample(mailbox)
        state: State = {}
        with mailbox.open() as connector:
            one_pass(connector, state)
            assert one_pass(connector, state) == []

    def test_new_mail_is_yielded_once_on_the_next_pass(self, mailbox: Mailbox) -> None:
        sample(mailbox)
        state: State = {}
        with mailbox.open() as connector:
            one_pass(connector, state)
        mailbox.deliver(
            message("Hana <hana@example.org>", ME, date=day(20), message_id="<new@x>"),
            "inbox",
            day(20),
        )
        mailbox.deliver(
            message(ME, "ivan@example.org", date=day(21), message_id="<new2@x>"), "sent", day(21)
        )
        with mailbox.open() as connector:  # a later pass, a new session
            records = one_pass(connector, state)
            assert one_pass(connector, state) == []
        assert sorted(message_ids(records)) == ["<new2@x>", "<new@x>"]
        assert found(records) == {
            ("received", "hana@example.org", day(20), "mid:<new@x>"),
            ("sent", "ivan@example.org", day(21), "mid:<new2@x>"),
        }

    def test_state_saved_with_any_batch_resumes_without_loss_or_repeat(
        self, mailbox: Mailbox
    ) -> None:
        for n in range(120):
            mailbox.deliver(
                message(f"p{n}@example.org", ME, date=day(1 + n % 28), message_id=f"<bulk{n}@x>"),
                "inbox",
                day(1 + n % 28),
            )
        mailbox.deliver(
            message(ME, "q@example.org", date=day(2), message_id="<sq@x>"), "sent", day(2)
        )
        state: State = {}
        with mailbox.open() as connector:
            first = one_pass(connector, state, limit=1)  # the pass dies after one batch
        with mailbox.open() as connector:
            rest = one_pass(connector, state)
        ids = message_ids(first) + message_ids(rest)
        assert len(ids) == len(set(ids)) == 121


def test_gmail_and_imap_agree_on_the_same_mailbox(
    imap_mailbox: ImapMailbox, gmail_mailbox: GmailMailbox
) -> None:
    """The same messages through both connectors: the same interactions."""
    results = []
    for mailbox in (imap_mailbox, gmail_mailbox):
        sample(mailbox)
        for n in range(60):
            sender, to = (
                (ME, f"peer{n}@example.org") if n % 3 == 0 else (f"peer{n}@example.org", ME)
            )
            mailbox.deliver(
                message(
                    sender,
                    to,
                    date=datetime(2024, 1, 1 + n % 28, tzinfo=UTC),
                    message_id=f"<same{n}@x>",
                    subject=f"Grüße {n}",
                ),
                "sent" if n % 3 == 0 else "inbox",
                day(1),
            )
        with mailbox.open() as connector:
            records = one_pass(connector, {})
        results.append(
            {
                (i.direction.value, i.address, i.name, i.at, i.dedupe_key, i.subject)
                for r in records
                for i in interactions(r, MINE)
            }
        )
    imap_result, gmail_result = results
    assert len(imap_result) == 5 + 60
    assert gmail_result == imap_result
