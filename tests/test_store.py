"""The store on a real SQLite file and a real PostgreSQL database (``store_url``): privacy of
files, atomic idempotent batches, queries."""

from __future__ import annotations

import dataclasses
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
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


def test_migrations_match_the_models(store_url: str) -> None:
    """Every migration from nothing builds the schema ``syncd.schema`` declares (so a
    new SQLite file may be created from the declaration directly)."""
    from sqlalchemy import create_engine

    config = AlembicConfig()
    config.set_main_option("script_location", str(Path(schema.__file__).parent / "migrations"))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_HEAD
    engine = create_engine(store_url)
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), schema.metadata) == []
            assert conn.execute(text("SELECT id, version FROM store_version")).all() == [(1, 0)]
    finally:
        engine.dispose()


def test_a_new_sqlite_file_is_created_from_the_schema_at_its_head(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir(mode=0o700)
    store = open_store(f"sqlite:///{tmp_path}/d/new.db")
    try:
        with store.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), schema.metadata) == []
            version = conn.execute(text("SELECT version_num FROM alembic_version")).all()
            assert version == [(SCHEMA_HEAD,)]
            assert conn.execute(text("SELECT id, version FROM store_version")).all() == [(1, 0)]
        assert store.save_batch("a", [interaction("x@example.org", "k1", NOW)], {}, NOW) == 1
        with store.engine.connect() as conn:
            summary = conn.execute(text("SELECT address, received FROM address_summary")).all()
            assert summary == [("x@example.org", 1)]
            assert conn.execute(text("SELECT version FROM store_version")).scalar() == 1
    finally:
        store.close()


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


def test_overlong_texts_fit_their_columns_on_both_dialects(store: Store) -> None:
    """Issue 14: the store does not rely on the rules to cap what a hostile message
    holds; PostgreSQL would refuse a text longer than its column."""
    long_key = "k" * 5000
    huge = dataclasses.replace(
        interaction("x@example.org", long_key, NOW, folder="F" * 2000),
        name="N" * 1000,
        message_id="<" + "m" * 3000 + ">",
        subject="S" * 4000,
    )
    other = dataclasses.replace(huge, dedupe_key="k" * 4999 + "j")  # same first 998 chars
    assert store.save_batch("a", [huge, other], {}, NOW) == 2  # still told apart
    assert store.save_batch("a", [huge], {}, NOW) == 0  # and still deduplicated
    with store.session() as s:
        rows = s.query(models.InteractionRow).all()
    assert {len(r.folder) for r in rows} == {500} and {len(r.subject or "") for r in rows} == {500}
    assert {len(r.message_id or "") for r in rows} == {998} and {len(r.name) for r in rows} == {200}
    assert all(len(r.dedupe_key) <= 998 for r in rows)


def test_polls_start_from_the_connector_state_of_an_older_database(tmp_path: Path) -> None:
    """0007inp: an account synced before the poll table has its last state time as both."""
    from alembic import command
    from sqlalchemy import create_engine

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    config = AlembicConfig()
    config.set_main_option("script_location", str(Path(schema.__file__).parent / "migrations"))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0003r")
        conn.execute(
            text(
                "INSERT INTO sync_state (account, scope, state, updated_at) VALUES "
                "('home', 'INBOX', '{}', '2026-01-02 03:04:05'), "
                "('home', 'Sent', '{}', '2026-01-05 00:00:00')"
            )
        )
    engine.dispose()
    store = open_store(url)
    try:
        when = datetime(2026, 1, 5, tzinfo=UTC)
        assert store.polls() == {"home": (when, when)}
        store.record_poll("home", when + timedelta(hours=1), 0)  # found nothing
        assert store.polls() == {"home": (when + timedelta(hours=1), when)}
        store.record_poll("home", when + timedelta(hours=2), 3)
        assert store.polls()["home"] == (when + timedelta(hours=2),) * 2
    finally:
        store.close()


def test_state_written_without_sqlalchemy_reads_back_on_both_paths(store_url: str) -> None:
    """A batch with nothing found goes through ``quiet_writes`` on a current SQLite
    file; the engine path (and a PostgreSQL database) reads the same state back."""
    first = open_store(store_url)
    first.save_batch("a", [interaction("x@example.org", "k1", NOW)], {"INBOX": {"uid": 1}}, NOW)
    first.close()
    quiet = open_store(store_url)
    later = NOW + timedelta(hours=1)
    quiet.save_batch("a", [], {"INBOX": {"uid": 7, "é": [1, "x"]}, "Sent": {"uid": 2}}, later)
    quiet.record_poll("a", later, 0)
    quiet.close()
    again = open_store(store_url)
    try:
        expected = {"INBOX": {"uid": 7, "é": [1, "x"]}, "Sent": {"uid": 2}}
        assert again.load_state("a") == expected
        assert again.polls()["a"][0] == later
        with again.engine.connect() as conn:  # the engine's own reading of those rows
            rows = conn.execute(schema.sync_state.select()).all()
        assert {r.scope: r.state for r in rows} == expected
        assert {r.updated_at for r in rows if r.scope == "Sent"} == {later}
        assert again.last_synced("a") == later
    finally:
        again.close()


def test_reply_subjects_are_the_latest_mail_from_any_of_their_addresses(store: Store) -> None:
    priya = store.add_contact("Priya", ["p@example.org", "priya@work.example"], None, [], NOW)
    store.add_contact("Quiet", ["q@example.org"], None, [], NOW)
    mails = [
        dataclasses.replace(
            interaction("p@example.org", "k1", NOW - timedelta(days=9)), subject="old"
        ),
        dataclasses.replace(
            interaction("priya@work.example", "k2", NOW - timedelta(days=2)), subject="newest"
        ),
        dataclasses.replace(
            interaction("p@example.org", "k3", NOW - timedelta(days=1), Direction.SENT),
            subject="mine",
        ),
        dataclasses.replace(interaction("q@example.org", "k4", NOW), subject=None),
    ]
    store.save_batch("a", mails, {}, NOW)
    ids = {c.name: c.id for c in store.contacts()}
    assert priya == "Priya"
    assert store.reply_subjects([ids["Priya"], ids["Quiet"], 99999]) == {ids["Priya"]: "newest"}
    assert store.reply_subjects([]) == {}
