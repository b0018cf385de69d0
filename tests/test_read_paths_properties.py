"""The fast read paths equal a plain recomputation from the stored rows, for random histories.

Hypothesis generates contacts with one to three addresses, untracked
correspondents, messages in several batches (replayed, and the same message
found again in another folder or account), touches and snoozes, written
through the :class:`Store` as sync and the CLI write them. Then:

* ``status --json`` built from ``Store.contacts()`` (the per-address index
  seeks, and its ``store_version`` cache) equals the same JSON built from
  ``ContactFacts`` recomputed here, in plain Python, from every row of
  ``interactions``, ``touches`` and ``contacts`` read back;
* ``Store.correspondents()`` (the per-address summary sync keeps) equals the
  counts, first and last times, days, names and conversation count
  recomputed from the rows.

On SQLite and PostgreSQL (``store_url``); each example starts from empty tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from syncd import config as config_mod
from syncd import lapses, suggest
from syncd.cli.standing import _reply_owed, _standing_json
from syncd.model import ContactFacts, Direction, Interaction
from syncd.store import Store, open_store

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
START = NOW - timedelta(days=400)
CONTACTS = 4
ADDRESSES = [f"p{n}.{k}@example.org" for n in range(CONTACTS) for k in range(3)] + [
    f"other{n}@example.net" for n in range(4)
]

message = st.tuples(
    st.sampled_from(ADDRESSES),
    st.sampled_from([Direction.SENT, Direction.RECEIVED]),
    st.integers(0, 60 * 24),  # hours after START: days 7 apart (one conversation or two) are common
    st.integers(0, 30),  # message number: repeats are the same message again
    st.sampled_from(["", "Ann", "Bob"]),
    st.sampled_from([("a", "INBOX"), ("a", "Archive"), ("b", "INBOX")]),
)
history = st.fixed_dictionaries(
    {
        "contacts": st.lists(st.integers(1, 3), min_size=1, max_size=CONTACTS),
        "batches": st.lists(st.lists(message, max_size=12), min_size=1, max_size=5),
        "replay": st.booleans(),
        "touches": st.lists(st.tuples(st.integers(0, CONTACTS - 1), st.integers(0, 400))),
        "snoozes": st.lists(st.tuples(st.integers(0, CONTACTS - 1), st.integers(-30, 30))),
        "read_between": st.booleans(),
    }
)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    yield s
    s.close()


@pytest.fixture
def config(tmp_path: Path) -> config_mod.Config:
    path = tmp_path / "config.toml"
    path.write_text(
        '[identity]\naddresses = ["me@example.com"]\n'
        '[defaults]\ncadence = "60d"\n[notify]\nbackend = "log"\nreply_after = "14d"\n'
    )
    return config_mod.load(path)


def _wipe(store: Store) -> None:
    with store.engine.begin() as conn:
        for table in (
            "notified_alerts",
            "touches",
            "contact_tags",
            "contact_emails",
            "contacts",
            "interactions",
            "sync_state",
            "address_names",
            "address_summary",
        ):
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text("UPDATE store_version SET version = version + 1"))


def _utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _rows(store: Store, sql: str) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def _recomputed_facts(store: Store) -> list[ContactFacts]:
    """ContactFacts from every stored row, in plain Python (no grouping in SQL)."""
    owner = dict(_rows(store, "SELECT address, contact_id FROM contact_emails"))
    last: dict[tuple[int, str], datetime] = {}
    for address, direction, at in _rows(store, "SELECT address, direction, at FROM interactions"):
        if address in owner:
            key = (owner[address], direction)
            last[key] = max(last.get(key, _utc(at)), _utc(at))
    for contact_id, at in _rows(store, "SELECT contact_id, at FROM touches"):
        key = (contact_id, "touch")
        last[key] = max(last.get(key, _utc(at)), _utc(at))
    emails: dict[int, list[tuple[int, str]]] = {}
    for row_id, contact_id, display in _rows(
        store, "SELECT id, contact_id, display FROM contact_emails"
    ):
        emails.setdefault(contact_id, []).append((row_id, display))
    facts = []
    for contact_id, name, cadence, snoozed, created in _rows(
        store, "SELECT id, name, cadence_seconds, snoozed_until, created_at FROM contacts"
    ):
        facts.append(
            ContactFacts(
                id=contact_id,
                name=name,
                emails=[d for _, d in sorted(emails.get(contact_id, []))],
                cadence=timedelta(seconds=cadence) if cadence is not None else None,
                tags=[],
                snoozed_until=_utc(snoozed) if snoozed is not None else None,
                created_at=_utc(created),
                last_sent=last.get((contact_id, "sent")),
                last_received=last.get((contact_id, "received")),
                last_touch=last.get((contact_id, "touch")),
            )
        )
    return sorted(facts, key=lambda f: f.name)


def _status_json(facts: list[ContactFacts], config: config_mod.Config) -> list[dict[str, Any]]:
    return [
        _standing_json(s, _reply_owed(s, config, NOW)) for s in lapses.standings(facts, config, NOW)
    ]


def _recomputed_correspondents(store: Store) -> dict[str, tuple[Any, ...]]:
    tracked = {a for (a,) in _rows(store, "SELECT address FROM contact_emails")}
    seen: dict[str, dict[str, Any]] = {}
    for address, direction, at, name in _rows(
        store, "SELECT address, direction, at, name FROM interactions"
    ):
        at = _utc(at)
        row = seen.setdefault(
            address, {"sent": 0, "received": 0, "at": [], "names": {}, "days": set()}
        )
        row[str(direction)] += 1
        row["at"].append(at)
        row["days"].add(at.date())
        if name:
            row["names"][name] = row["names"].get(name, 0) + 1
    return {
        address: (
            r["sent"],
            r["received"],
            min(r["at"]),
            max(r["at"]),
            sorted(r["days"]),
            r["names"],
            len(suggest.conversations(r["days"])),
        )
        for address, r in seen.items()
        if r["sent"] and r["received"] and address not in tracked
    }


def _write(store: Store, h: dict[str, Any]) -> None:
    for n, count in enumerate(h["contacts"]):
        store.add_contact(
            f"Contact {n}", [f"p{n}.{k}@example.org" for k in range(count)], None, [], START
        )
    batches = [*h["batches"], *(h["batches"][:1] if h["replay"] else [])]
    for batch in batches:
        by_account: dict[str, list[Interaction]] = {}
        for address, direction, hours, number, name, (account, folder) in batch:
            by_account.setdefault(account, []).append(
                Interaction(
                    address=address,
                    name=name,
                    direction=direction,
                    # the same message is the same time wherever it is found
                    at=START + timedelta(hours=(hours if number > 25 else number * 70)),
                    dedupe_key=f"mid:<{number if number <= 25 else hours}@x>",
                    message_id=None,
                    subject=None,
                    folder=folder,
                )
            )
        for account, found in by_account.items():
            store.save_batch(account, found, {folder: {"uid": 1}}, NOW)
        if h["read_between"]:
            store.contacts()  # fills the cache that the next writes must invalidate
    names = {n for n in range(len(h["contacts"]))}
    for n, days in h["touches"]:
        if n in names:
            store.add_touch(f"Contact {n}", START + timedelta(days=days), "coffee")
    for n, days in h["snoozes"]:
        if n in names:
            store.snooze(f"contact {n}", NOW + timedelta(days=days))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(h=history)
def test_fast_read_paths_equal_a_recomputation(
    store: Store, config: config_mod.Config, h: dict[str, Any]
) -> None:
    _wipe(store)
    _write(store, h)
    fast = store.contacts()
    assert _status_json(fast, config) == _status_json(_recomputed_facts(store), config)
    assert store.contacts() == fast  # the cached answer, nothing written since

    found = {
        c.address: (
            c.sent,
            c.received,
            c.first,
            c.last,
            c.days,
            c.names,
            c.conversations,
        )
        for c in store.correspondents()
    }
    assert found == _recomputed_correspondents(store)
    counted = {c.address: c.conversations for c in store.correspondents(details=False)}
    assert counted == {a: v[6] for a, v in found.items()}
    days: list[date] = [d for v in found.values() for d in v[4]]
    assert all(isinstance(d, date) for d in days)
