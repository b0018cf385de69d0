"""The writes of a sync that finds nothing new, on the SQLite file's stdlib connection.

A cron-style ``weakties sync`` that finds no new mail stores only each
folder's connector state and the time of the poll. On an up-to-date SQLite
file (the read path's ``sqlite3`` connection, ``database.sqlite_reader``)
these two statements run here in plain SQL, so such a pass never imports
SQLAlchemy (about 0.2 s of start-up, more than the pass itself). Anything
else, and any other database, goes through ``sync_writes`` on the engine.

SQLite only: values are written in the forms SQLAlchemy's SQLite dialect
writes (JSON text; naive UTC ``YYYY-MM-DD HH:MM:SS.ffffff``), so that both
paths read each other's rows.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from syncd.store.database import sqlite_time


def save_state(
    conn: sqlite3.Connection, account: str, state: dict[str, dict[str, Any]], now: datetime
) -> None:
    """Upsert the connector state of each scope, in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(
            "INSERT INTO sync_state (account, scope, state, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (account, scope) DO UPDATE "
            "SET state = excluded.state, updated_at = excluded.updated_at",
            [
                (account, scope, json.dumps(value), sqlite_time(now))
                for scope, value in state.items()
            ],
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def record_poll(conn: sqlite3.Connection, account: str, at: datetime) -> None:
    """Note a poll of ``account`` that found nothing new."""
    conn.execute(
        "INSERT INTO account_polls (account, last_ok_at) VALUES (?, ?) "
        "ON CONFLICT (account) DO UPDATE SET last_ok_at = excluded.last_ok_at",
        (account, sqlite_time(at)),
    )
