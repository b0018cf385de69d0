"""``weakties suggest``: a mailbox on the real Dovecot, synced by the real CLI, then ranked."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from connectors.memory import MemoryMailbox, connect
from syncd import engine, suggest
from syncd.store import Store
from tests.dovecot import Dovecot, ImapUser
from tests.factories import ConfigFactory, ContactFactory, memory_account
from tests.helpers import imap_account, make_env, message

ME = "me@example.com"
ALIAS = "alias@example.com"
START = datetime(2023, 1, 10, 9, 0, tzinfo=UTC)
PRIYA_GAPS = [80, 95, 90, 100, 85, 90, 110, 88]  # days between conversations: median 90


def _messages() -> tuple[list[tuple[bytes, datetime]], list[tuple[bytes, datetime]]]:
    """A mailbox's (inbox, sent): Priya's rhythm, Bob once, a newsletter, a no-reply
    address, my alias, one-way Carol and Erin, tracked Dan."""
    inbox: list[tuple[bytes, datetime]] = []
    sent: list[tuple[bytes, datetime]] = []
    at = START
    for n, gap in enumerate([0, *PRIYA_GAPS]):
        at += timedelta(days=gap)
        # She writes, I answer the next day, she answers back: one conversation.
        inbox.append(
            (
                message(
                    "Priya Patel <priya@example.org>",
                    ME,
                    date=at,
                    message_id=f"<p{n}a@example.org>",
                ),
                at,
            )
        )
        sent.append(
            (
                message(
                    ME,
                    "Priya <priya@example.org>",
                    date=at + timedelta(days=1),
                    message_id=f"<p{n}b@example.com>",
                ),
                at + timedelta(days=1),
            )
        )
        inbox.append(
            (
                message(
                    "Priya Patel <priya@example.org>",
                    ME,
                    date=at + timedelta(days=2),
                    message_id=f"<p{n}c@example.org>",
                ),
                at + timedelta(days=2),
            )
        )
    bob = START + timedelta(days=300)
    inbox.append((message("Bob <bob@example.net>", ME, date=bob, message_id="<b1@x>"), bob))
    sent.append(
        (
            message(ME, "bob@example.net", date=bob + timedelta(hours=5), message_id="<b2@x>"),
            bob + timedelta(hours=5),
        )
    )
    # A newsletter I once wrote to: its mail is bulk, so never "received".
    for n in range(5):
        when = START + timedelta(days=30 * n)
        inbox.append(
            (
                message(
                    "Shop News <news@shop.example>",
                    ME,
                    date=when,
                    message_id=f"<n{n}@shop>",
                    extra="List-Unsubscribe: <mailto:unsub@shop.example>",
                ),
                when,
            )
        )
    sent.append(
        (
            message(
                ME,
                "news@shop.example",
                subject="unsubscribe me",
                date=START + timedelta(days=200),
                message_id="<u@x>",
            ),
            START + timedelta(days=200),
        )
    )
    # A no-reply address without bulk headers, which I answered once anyway.
    for n in range(4):
        when = START + timedelta(days=60 * n)
        inbox.append(
            (
                message(
                    "Service <no-reply@service.example>",
                    ME,
                    date=when,
                    message_id=f"<s{n}@service>",
                ),
                when,
            )
        )
    sent.append(
        (
            message(
                ME, "no-reply@service.example", date=START + timedelta(days=61), message_id="<sr@x>"
            ),
            START + timedelta(days=61),
        )
    )
    # My own alias, before I told weakties it is mine: two-way on paper.
    for n in range(3):
        when = START + timedelta(days=100 * n)
        inbox.append((message(ALIAS, ME, date=when, message_id=f"<al{n}@x>"), when))
        sent.append(
            (
                message(ME, ALIAS, date=when + timedelta(days=3), message_id=f"<am{n}@x>"),
                when + timedelta(days=3),
            )
        )
    # One-way both ways: Carol only writes, I only write to Erin.
    inbox.append((message("carol@example.net", ME, date=START, message_id="<c@x>"), START))
    sent.append((message(ME, "erin@example.net", date=START, message_id="<e@x>"), START))
    # Dan is two-way but tracked already.
    inbox.append((message("dan@example.net", ME, date=START, message_id="<d1@x>"), START))
    sent.append((message(ME, "dan@example.net", date=START, message_id="<d2@x>"), START))
    return inbox, sent


def _mailbox(dovecot: Dovecot, user: ImapUser) -> None:
    inbox, sent = _messages()
    dovecot.bulk_append(user.username, "INBOX", inbox)
    dovecot.bulk_append(user.username, "Sent", sent)


def test_suggest_ranks_two_way_ties_with_their_rhythm(
    tmp_path: Path, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    _mailbox(dovecot, imap_user)
    account = imap_account(dovecot, imap_user)
    env = make_env(tmp_path, account, identity=(ME,))
    assert env.run("sync", "--once").exit_code == 0
    env.run("contact", "add", "Dan", "--email", "dan@example.net")
    # Now tell weakties the alias is mine too.
    env.config.write_text(env.config.read_text().replace(f'["{ME}"]', f'["{ME}", "{ALIAS}"]'))

    found = env.json("suggest")
    assert [s["email"] for s in found] == ["priya@example.org", "bob@example.net"]
    priya, bob = found
    assert priya["name"] == "Priya Patel"
    assert 85 <= priya["cadence_days"] <= 95  # the real rhythm: a median gap of 90 days
    assert priya["conversations"] == 9
    assert (priya["sent"], priya["received"]) == (9, 18)
    assert priya["reason"].startswith("9 exchanges over 2 years (you wrote 9, they wrote 18)")
    assert bob["name"] == "Bob"
    assert bob["conversations"] == 1 and bob["cadence_days"] == 180  # no rhythm: the default
    assert priya["score"] > bob["score"]

    table = env.run("suggest").stdout
    assert "Priya Patel" in table and "3mo" in table and "no-reply" not in table

    refused = env.run("suggest", "--add")  # no terminal to pick on
    assert refused.exit_code == 2 and "--yes" in refused.stderr

    added = env.run("suggest", "--add", "--yes", "--limit", "1")
    assert added.exit_code == 0, added.output
    assert "added Priya Patel <priya@example.org>, every 3mo" in added.stdout
    [contact] = [c for c in env.json("contact", "list") if c["name"] == "Priya Patel"]
    assert contact["emails"] == ["priya@example.org"] and contact["cadence_days"] == 90
    assert [s["email"] for s in env.json("suggest")] == ["bob@example.net"]


def test_ranking_in_process_from_mail_synced_through_the_rules(
    store: Store, make_config: ConfigFactory, make_contact: ContactFactory
) -> None:
    """The same mailbox through the in-memory connector, the engine and the store's
    aggregation, without a server or the CLI: the same ranking."""
    box = MemoryMailbox()
    inbox, sent = _messages()
    for folder, mail in (("INBOX", inbox), ("Sent", sent)):
        for raw, at in mail:
            box.deliver(raw, folder, at)
    account = memory_account("mail", username=ME)
    config = make_config(defaults={"cadence": "180d"}, accounts=[account])
    result = engine.sync_account(store, config, account, connect=lambda a: connect(box))
    assert result.ok and result.scanned == len(inbox) + len(sent)
    make_contact(store, "Dan", "dan@example.net")
    now = START + timedelta(days=900)
    found = suggest.suggestions(
        store.correspondents(), [*config.my_addresses(), ALIAS], now, config.defaults.cadence
    )
    assert [s.address for s in found] == ["priya@example.org", "bob@example.net"]
    priya, bob = found
    assert priya.name == "Priya Patel" and timedelta(days=85) <= priya.cadence <= timedelta(days=95)
    assert (priya.conversations, priya.sent, priya.received) == (9, 9, 18)
    assert bob.conversations == 1 and bob.cadence == timedelta(days=180)
    assert priya.score > bob.score


def test_a_taken_name_gets_the_address(
    tmp_path: Path, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    u = imap_user.username
    dovecot.append(u, "INBOX", message("Bob <bob@example.net>", ME, message_id="<1@x>", date=START))
    dovecot.append(u, "Sent", message(ME, "bob@example.net", message_id="<2@x>", date=START))
    env = make_env(tmp_path, imap_account(dovecot, imap_user), identity=(ME,))
    env.run("sync", "--once")
    env.run("contact", "add", "Bob", "--email", "another.bob@example.org")
    added = env.run("suggest", "--add", "--yes")
    assert "added Bob (bob@example.net) <bob@example.net>" in added.stdout
    names = {c["name"]: c["emails"] for c in env.json("contact", "list")}
    assert names == {
        "Bob": ["another.bob@example.org"],
        "Bob (bob@example.net)": ["bob@example.net"],
    }


def test_conversations_and_cadence() -> None:
    days = [
        date(2024, 1, 1),
        date(2024, 1, 2),
        date(2024, 1, 5),
        date(2024, 3, 1),
        date(2024, 3, 3),
        date(2024, 6, 1),
    ]
    assert suggest.conversations(days) == [date(2024, 1, 1), date(2024, 3, 1), date(2024, 6, 1)]
    starts = suggest.conversations(days)
    assert suggest.proposed_cadence(starts, timedelta(days=180)) == timedelta(days=76)
    weekly = [date(2024, 1, 1) + timedelta(days=8 * i) for i in range(10)]
    assert suggest.proposed_cadence(weekly, timedelta(days=180)) == timedelta(days=30)
    rare = [date(2015, 1, 1), date(2019, 1, 1), date(2024, 1, 1)]
    assert suggest.proposed_cadence(rare, timedelta(days=180)) == timedelta(days=365)
    assert suggest.proposed_cadence(rare[:1], timedelta(days=7)) == timedelta(days=30)


@pytest.mark.parametrize(
    ("address", "robot"),
    [
        ("noreply@x.org", True),
        ("no-reply@x.org", True),
        ("no_reply-42@x.org", True),
        ("donotreply@x.org", True),
        ("do-not-reply@x.org", True),
        ("mailer-daemon@x.org", True),
        ("notifications@github.com", True),
        ("notification@x.org", True),
        ("bounces@x.org", True),
        ("postmaster@x.org", True),
        ("priya@x.org", False),
        ("noreen@x.org", False),
        ("replyguy@x.org", False),
    ],
)
def test_robot_addresses(address: str, robot: bool) -> None:
    assert suggest.is_robot(address) is robot


def test_parse_selection() -> None:
    assert suggest.parse_selection("1,3-5", 6) == [0, 2, 3, 4]
    assert suggest.parse_selection(" 2 4 ", 6) == [1, 3]
    assert suggest.parse_selection("all", 3) == [0, 1, 2]
    assert suggest.parse_selection("", 3) == [] and suggest.parse_selection("none", 3) == []
    assert suggest.parse_selection("2,2,1-2", 3) == [1, 0]
    for bad in ("0", "4", "3-1", "x", "1-"):
        with pytest.raises(ValueError):
            suggest.parse_selection(bad, 3)
