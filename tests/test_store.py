"""The store on a real SQLite file and a real PostgreSQL database (``store_url``): privacy of
files, atomic idempotent batches, queries."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from syncd import models, schema
from syncd.config import default_database_url
from syncd.model import Direction, Interaction
from syncd.store import SCHEMA_HEAD, Store, StoreError, Unavailable, open_store

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def interaction(
    address: str,
    key: str,
    at: datetime,
    direction: Direction = Direction.RECEIVED,
    folder: str = "INBOX",
) -> Interaction:
    return Interaction(
        address=address,
        name="",
        direction=direction,
        at=at,
        dedupe_key=key,
        message_id=key,
        subject=f"about {key}",
        folder=folder,
    )


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    yield s
    s.close()


@pytest.fixture
def sqlite_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """A store in the default data directory ($XDG_DATA_HOME/weakties), which it creates."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    s = open_store(default_database_url())
    yield s
    s.close()


def test_database_file_and_directory_are_private(tmp_path: Path, sqlite_store: Store) -> None:
    store = sqlite_store
    store.save_batch("a", [interaction("x@example.org", "k1", NOW)], {}, NOW)
    data = tmp_path / "share" / "weakties"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for path in data.iterdir():  # the db and its -wal / -shm files
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


@pytest.mark.parametrize("form", ["sqlite:///{}", "{}"])
def test_a_missing_directory_is_an_error_not_created(tmp_path: Path, form: str) -> None:
    target = tmp_path / "missing" / "dir" / "x.db"
    with pytest.raises(Unavailable) as caught:
        open_store(form.format(target))
    assert str(caught.value).startswith(
        f"database {target}: the directory {target.parent} does not exist"
    )
    assert not (tmp_path / "missing").exists()


def test_migrations_match_the_models(store: Store) -> None:
    config = AlembicConfig()
    config.set_main_option("script_location", str(Path(schema.__file__).parent / "migrations"))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_HEAD
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), schema.metadata) == []


def test_replaying_a_batch_changes_nothing(store: Store) -> None:
    batch = [interaction("x@example.org", "k1", NOW), interaction("y@example.org", "k2", NOW)]
    assert store.save_batch("a", batch, {"INBOX": {"last_uid": 2}}, NOW) == 2
    assert store.save_batch("a", batch, {"INBOX": {"last_uid": 2}}, NOW) == 0
    # The same message found in another folder or account counts once too.
    assert (
        store.save_batch("b", [interaction("x@example.org", "k1", NOW, folder="Archive")], {}, NOW)
        == 0
    )
    assert store.load_state("a") == {"INBOX": {"last_uid": 2}}
    with store.session() as s:
        assert s.query(models.InteractionRow).count() == 2


def test_a_failing_batch_writes_neither_rows_nor_state(store: Store) -> None:
    store.save_batch(
        "a", [interaction("x@example.org", "k1", NOW)], {"INBOX": {"last_uid": 1}}, NOW
    )
    naive = interaction("y@example.org", "k2", NOW.replace(tzinfo=None))
    with pytest.raises(Exception, match="naive"):
        store.save_batch(
            "a", [interaction("z@example.org", "k3", NOW), naive], {"INBOX": {"last_uid": 3}}, NOW
        )
    assert store.load_state("a") == {"INBOX": {"last_uid": 1}}
    with store.session() as s:
        assert [r.address for r in s.query(models.InteractionRow)] == ["x@example.org"]


def test_contact_sees_history_recorded_before_it_was_added(store: Store) -> None:
    store.save_batch(
        "a",
        [
            interaction("priya@example.org", "k1", NOW - timedelta(days=40)),
            interaction("priya@example.org", "k2", NOW - timedelta(days=10), Direction.SENT),
            interaction("p@work.example", "k3", NOW - timedelta(days=5)),
            interaction("other@example.org", "k4", NOW),
        ],
        {},
        NOW,
    )
    store.add_contact("Priya", ["Priya@Example.org", "p+x@work.example"], None, ["friends"], NOW)
    [facts] = store.contacts()
    assert facts.last_sent == NOW - timedelta(days=10)
    assert facts.last_received == NOW - timedelta(days=5)
    assert (facts.last_contact, facts.last_direction) == (NOW - timedelta(days=5), "received")
    store.add_touch("priya", NOW - timedelta(days=1), "coffee")
    [facts] = store.contacts()
    assert (facts.last_contact, facts.last_direction) == (NOW - timedelta(days=1), "touch")


def test_evidence_shows_each_message_once(store: Store) -> None:
    # One message to both of Priya's addresses: two interactions, one entry.
    store.save_batch(
        "a",
        [
            interaction("priya@example.org", "k1", NOW, Direction.SENT),
            interaction("p@work.example", "k1", NOW, Direction.SENT),
            interaction("priya@example.org", "k2", NOW - timedelta(days=3)),
        ],
        {},
        NOW,
    )
    store.add_contact("Priya", ["priya@example.org", "p@work.example"], None, [], NOW)
    name, emails, entries = store.evidence("PRIYA", 10)
    assert emails == ["priya@example.org", "p@work.example"]
    assert name == "Priya"
    assert [(e["message_id"], e["direction"]) for e in entries] == [
        ("k1", "sent"),
        ("k2", "received"),
    ]


def test_contact_errors(store: Store) -> None:
    store.add_contact("Bob", ["bob@example.org"], timedelta(days=30), [], NOW)
    with pytest.raises(StoreError, match="exists already"):
        store.add_contact("bob", ["other@example.org"], None, [], NOW)
    with pytest.raises(StoreError, match="already belongs to 'Bob'"):
        store.add_contact("Robert", ["BOB+tag@example.org"], None, [], NOW)
    with pytest.raises(StoreError, match="not an e-mail address"):
        store.add_contact("Carol", ["carol"], None, [], NOW)
    assert [c.name for c in store.contacts()] == ["Bob"]  # nothing half-added
    with pytest.raises(StoreError, match="no contact named 'Dave'"):
        store.remove_contact("Dave")


def test_edit_contact(store: Store) -> None:
    store.add_contact("Bob", ["bob@example.org"], timedelta(days=30), ["a"], NOW)
    store.edit_contact(
        "bob",
        new_name="Robert",
        add_emails=["rob@example.net"],
        remove_emails=["bob@example.org"],
        clear_cadence=True,
        add_tags=["b"],
        remove_tags=["a"],
    )
    [c] = store.contacts()
    assert (c.name, c.emails, c.cadence, c.tags) == ("Robert", ["rob@example.net"], None, ["b"])
    store.remove_contact("robert")
    assert store.contacts() == []


def test_new_counts_only_new_rows_across_large_batches(store: Store) -> None:
    # Larger than any driver's page (insertmanyvalues: 1000 rows), half already stored.
    first = [interaction(f"a{i}@example.org", f"k{i}", NOW) for i in range(0, 3000, 2)]
    assert store.save_batch("a", first, {}, NOW) == 1500
    both = [interaction(f"a{i}@example.org", f"k{i}", NOW) for i in range(3000)]
    assert store.save_batch("a", both, {}, NOW) == 1500
    assert store.save_batch("a", both, {}, NOW) == 0
    with store.session() as s:
        assert s.query(models.InteractionRow).count() == 3000


def test_a_database_readable_by_others_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    open_store(f"sqlite:///{path}").close()
    path.chmod(0o644)
    open_store(f"sqlite:///{path}").close()  # the stdlib read path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o640)
    open_store(f"sqlite:///{path}").save_batch("a", [], {}, NOW)  # and the engine path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_symlink_at_the_database_path_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "w.db"
    link.symlink_to(tmp_path / "elsewhere.db")  # dangling
    with pytest.raises(Unavailable, match="is a symbolic link"):
        open_store(f"sqlite:///{link}")
    assert not (tmp_path / "elsewhere.db").exists()
