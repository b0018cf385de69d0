"""Migration 0005rch (notification channels) on SQLite and PostgreSQL: alerts told
before channels existed stay told on every channel, so upgrading re-tells nothing;
the downgrade keeps the newest row per alert."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, text

from syncd import schema
from syncd.model import Told
from syncd.store import open_store

BEFORE = "0003r"
BASIS = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TOLD_AT = datetime(2025, 5, 1, 9, 30, tzinfo=UTC)


def alembic(url: str, to: str, *, down: bool = False) -> None:
    engine = create_engine(url)
    config = AlembicConfig()
    config.set_main_option("script_location", str(Path(schema.__file__).parent / "migrations"))
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(config, to)
    finally:
        engine.dispose()


def run(url: str, sql: str, **params: object) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql), params)
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()


def test_alerts_told_before_channels_stay_told_on_every_channel(store_url: str) -> None:
    alembic(store_url, BEFORE)
    run(
        store_url,
        "INSERT INTO contacts (id, name, created_at) VALUES (1, 'Priya', :at)",
        at=schema.UTCDateTime().process_bind_param(BASIS, None),
    )
    run(
        store_url,
        "INSERT INTO notified_alerts (contact_id, kind, basis, notified_at) "
        "VALUES (1, 'lapse', :basis, :at)",
        basis=schema.UTCDateTime().process_bind_param(BASIS, None),
        at=schema.UTCDateTime().process_bind_param(TOLD_AT, None),
    )
    store = open_store(store_url)  # migrates to the head
    try:
        expected = {(1, "lapse"): Told(basis=BASIS, at=TOLD_AT)}
        assert store.told("desktop") == store.told("push:0123456789abcdef") == expected
        store.record_told([], TOLD_AT, "desktop")  # the new tables are there and writable
        assert store.sent_on("desktop", TOLD_AT.date()) == 0
        assert store.digest_sent() is None
    finally:
        store.close()
    assert run(store_url, "SELECT channel FROM notified_alerts") == [("",)]

    alembic(store_url, BEFORE, down=True)
    rows = run(store_url, "SELECT contact_id, kind FROM notified_alerts")
    assert rows == [(1, "lapse")]
