"""Several daemons on one database, at the store (``store_url``: SQLite and PostgreSQL):
account leases (one holder at a time, expiry, renewal, release, racing threads) and
alert claims (one winner, release on failure, retaking a dead holder's claim, renotify)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, text

from syncd import schema
from syncd.errors import SchemaTooNew
from syncd.model import Alert, AlertKind, Direction
from syncd.store import Store, open_store

NOW = datetime(2025, 6, 1, tzinfo=UTC)
TTL = timedelta(seconds=60)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    yield s
    s.close()


def test_a_lease_has_one_holder_until_it_expires(store: Store) -> None:
    assert store.acquire_lease("work", "a:1", TTL, NOW)
    assert not store.acquire_lease("work", "b:2", TTL, NOW + timedelta(seconds=59))
    assert store.acquire_lease("home", "b:2", TTL, NOW)  # another account is free
    assert store.acquire_lease("work", "a:1", TTL, NOW + timedelta(seconds=30))  # ours: renewed
    # renewed at +30s, so it holds until +90s
    assert not store.acquire_lease("work", "b:2", TTL, NOW + timedelta(seconds=89))
    assert store.acquire_lease("work", "b:2", TTL, NOW + timedelta(seconds=90))
    [home, work] = store.leases()
    assert (work.account, work.holder, work.host()) == ("work", "b:2", "b")
    assert work.acquired_at == NOW + timedelta(seconds=90)
    assert work.expires_at == NOW + timedelta(seconds=150)
    assert home.holder == "b:2"
    # the old holder cannot renew nor release what it lost
    assert not store.renew_lease("work", "a:1", TTL, NOW + timedelta(seconds=91))
    assert not store.release_lease("work", "a:1")
    assert store.leases()[1].holder == "b:2"


def test_renewing_keeps_acquired_at_and_notes_the_poll(store: Store) -> None:
    assert store.acquire_lease("work", "a:1", TTL, NOW)
    assert store.renew_lease("work", "a:1", TTL, NOW + timedelta(seconds=50), polled=True)
    assert store.acquire_lease("work", "a:1", TTL, NOW + timedelta(seconds=100))
    [lease] = store.leases()
    assert lease.acquired_at == NOW  # held throughout
    assert lease.last_poll_at == NOW + timedelta(seconds=50)
    assert lease.expires_at == NOW + timedelta(seconds=160)
    assert not store.acquire_lease("work", "b:2", TTL, NOW + timedelta(seconds=159))


def test_a_released_lease_is_free_at_once(store: Store) -> None:
    assert store.acquire_lease("work", "a:1", TTL, NOW)
    assert store.release_lease("work", "a:1")
    assert store.leases() == []
    assert store.acquire_lease("work", "b:2", TTL, NOW + timedelta(seconds=1))


def test_racing_for_an_expired_lease_one_wins(store: Store) -> None:
    assert store.acquire_lease("work", "dead:1:x", TTL, NOW)
    later = NOW + timedelta(minutes=5)
    for round_ in range(5):
        start = threading.Barrier(8)
        won: list[str] = []

        def race(
            i: int, at: datetime, start: threading.Barrier, won: list[str], round_: int
        ) -> None:
            start.wait()
            if store.acquire_lease("work", f"h{i}:{round_}:r", TTL, at):
                won.append(f"h{i}")

        at = later + timedelta(minutes=5 * round_)
        threads = [
            threading.Thread(target=race, args=(i, at, start, won, round_)) for i in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(won) == 1, won
        [lease] = store.leases()
        assert lease.holder == f"{won[0]}:{round_}:r"


def alert(store: Store, basis: datetime = NOW - timedelta(days=100)) -> Alert:
    store.add_contact("Priya", ["priya@example.org"], None, [], NOW - timedelta(days=200))
    [facts] = store.contacts()
    return Alert(AlertKind.LAPSE, facts.id, "Priya", "priya@example.org", Direction.SENT, basis)


def test_an_alert_is_claimed_once_per_channel_and_basis(store: Store) -> None:
    a = alert(store)
    assert store.claim_alert(a, "default", "a:1", NOW)
    assert not store.claim_alert(a, "default", "b:2", NOW)
    assert not store.claim_alert(a, "default", "a:1", NOW)  # not twice by the same daemon
    assert store.claim_alert(a, "push", "b:2", NOW)  # another channel
    newer = Alert(a.kind, a.contact_id, a.name, a.email, a.direction, NOW - timedelta(days=1))
    assert store.claim_alert(newer, "default", "b:2", NOW)  # another basis: a new alert
    reply = Alert(AlertKind.REPLY, a.contact_id, a.name, a.email, a.direction, a.basis)
    assert store.claim_alert(reply, "default", "b:2", NOW)


def test_a_failed_delivery_releases_the_claim(store: Store) -> None:
    a = alert(store)
    assert store.claim_alert(a, "default", "a:1", NOW)
    store.release_claim(a, "default", "b:2")  # not b's to release
    assert not store.claim_alert(a, "default", "b:2", NOW)
    store.release_claim(a, "default", "a:1")
    assert store.claim_alert(a, "default", "b:2", NOW + timedelta(seconds=1))


def test_a_dead_holders_claim_is_retaken_after_five_minutes_only(store: Store) -> None:
    a = alert(store)
    assert store.acquire_lease("work", "alive:1:x", TTL, NOW)
    assert store.claim_alert(a, "default", "alive:1:x", NOW)
    soon, later = NOW + timedelta(minutes=4), NOW + timedelta(minutes=6)
    assert not store.claim_alert(a, "default", "b:2", soon)
    # the holder still renews its lease: its claim stays its own
    assert store.renew_lease("work", "alive:1:x", timedelta(minutes=10), NOW)
    assert not store.claim_alert(a, "default", "b:2", later)
    # the holder died: its lease expired; after five minutes the claim is retaken, once
    far = NOW + timedelta(minutes=11)
    assert store.claim_alert(a, "default", "b:2", far)
    assert not store.claim_alert(a, "default", "c:3:z", far)


def test_a_claim_is_retaken_once_its_telling_is_known(store: Store) -> None:
    """Renotify (or a snooze ending): lapses decides to tell again, knowing the
    last telling; a daemon whose told-state predates the claim still loses."""
    a = alert(store)
    assert store.acquire_lease("work", "a:1", timedelta(days=30), NOW)  # alive throughout
    assert store.claim_alert(a, "default", "a:1", NOW)
    week = NOW + timedelta(days=7)
    assert not store.claim_alert(a, "default", "b:2", week)  # b never saw it told
    earlier = NOW - timedelta(days=14)  # b saw an older telling only
    assert not store.claim_alert(a, "default", "b:2", week, told_at=earlier)
    assert store.claim_alert(a, "default", "b:2", week, told_at=NOW)  # told at NOW, recorded
    assert not store.claim_alert(a, "default", "a:1", week, told_at=NOW)  # b's claim is newer


def test_racing_claims_one_wins(store: Store) -> None:
    a = alert(store)
    start = threading.Barrier(8)
    won: list[int] = []

    def race(i: int) -> None:
        start.wait()
        if store.claim_alert(a, "default", f"h{i}:1:r", NOW):
            won.append(i)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(won) == 1


def test_a_schema_newer_than_this_weakties_is_refused(store_url: str) -> None:
    store = open_store(store_url)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
        conn.execute(
            insert(schema.sync_state).values(account="a", scope="s", state={}, updated_at=NOW)
        )
    store.close()
    with pytest.raises(SchemaTooNew) as caught:
        open_store(store_url)
    message = str(caught.value)
    assert "9999_future" in message and "newer" in message and "\n" not in message
    assert ":***@" in message or "sqlite" in message  # the password masked
    engine = __import__("sqlalchemy").create_engine(store_url)
    with engine.connect() as conn:  # refused before anything was written
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            "9999_future"
        )
    engine.dispose()


def test_a_current_database_is_read_without_sqlalchemy_and_reads_the_same(
    store_url: str,
) -> None:
    """An up-to-date database opens a plain driver connection for the read commands
    (sqlite3, or psycopg on PostgreSQL), which answers as the engine does."""
    writer = open_store(store_url)
    writer.add_contact("Priya", ["priya@example.org"], timedelta(days=30), ["mentors"], NOW)
    writer.record_told(
        [Alert(AlertKind.LAPSE, 1, "Priya", "priya@example.org", Direction.SENT, NOW)],
        NOW,
        "desktop",
    )
    assert writer.acquire_lease("work", "a:1", TTL, NOW)
    by_engine = (writer.contacts(), writer.told("desktop"), writer.leases())
    writer.close()
    reader = open_store(store_url)
    try:
        assert reader._reader is not None and reader._engine is None
        assert (reader.contacts(), reader.told("desktop"), reader.leases()) == by_engine
        assert reader.contacts(["PRIYA"])[0].tags == ["mentors"]
    finally:
        reader.close()
