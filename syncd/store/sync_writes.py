"""The sync path: connector state per account, and batches written with it.

:func:`save_batch` writes a batch of interactions and the connector's state
in one transaction, idempotently: ``interactions`` is unique on (dedupe key,
address, direction) and written with INSERT ... ON CONFLICT DO NOTHING, so
replaying a batch changes nothing. The rows actually inserted are folded
into the per-address summary (``syncd.store.summary``) in the same
transaction. SQLAlchemy Core only (no ORM: it costs start-up time on the
daemon's hot path).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from syncd import schema
from syncd.model import Interaction
from syncd.store import summary


def load_state(engine: Engine, account: str) -> dict[str, dict[str, Any]]:
    table = schema.sync_state
    with engine.connect() as conn:
        rows = conn.execute(select(table.c.scope, table.c.state).where(table.c.account == account))
        return {scope: dict(state) for scope, state in rows}


def save_batch(
    engine: Engine,
    insert: Callable[..., Any],
    account: str,
    found: Sequence[Interaction],
    state: dict[str, dict[str, Any]],
    now: datetime,
) -> int:
    """Store interactions and the connector state together; returns how many were new."""
    rows = [
        {
            "address": i.address,
            "name": i.name[:200],
            "direction": str(i.direction),
            "at": i.at,
            "account": account,
            "folder": i.folder,
            "message_id": i.message_id,
            "subject": i.subject,
            "dedupe_key": i.dedupe_key,
        }
        for i in found
    ]
    with engine.begin() as conn:
        new = _insert_new(conn, insert, rows) if rows else 0
        if new:
            bump_version(conn)
        for scope, value in state.items():
            upsert = insert(schema.sync_state).values(
                account=account, scope=scope, state=value, updated_at=now
            )
            conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=["account", "scope"],
                    set_={
                        "state": upsert.excluded.state,
                        "updated_at": upsert.excluded.updated_at,
                    },
                )
            )
    return new


def _insert_new(conn: Connection, insert: Callable[..., Any], rows: list[dict[str, Any]]) -> int:
    """Insert, skipping duplicates, and fold the new rows into the summary; how many
    were new, in O(batch), never COUNT(*).

    RETURNING gives back exactly the rows inserted (on both dialects), which
    is what the summary must count; on SQLite it costs ~19% more per
    500-row batch than a bare insert (17.7 ms against 14.9 ms, measured).
    """
    Ix = schema.interactions
    statement = (
        insert(Ix)
        .on_conflict_do_nothing()
        .returning(Ix.c.address, Ix.c.name, Ix.c.direction, Ix.c.at)
    )
    new = [tuple(r) for r in conn.execute(statement, rows)]
    summary.apply(conn, insert, new)
    return len(new)


def bump_version(conn: Connection) -> None:
    """Count one more change of what the read commands show (``store_version``):
    every write that changes contacts, touches or interactions calls this in its
    transaction, so a reader can tell in one cheap query that nothing changed."""
    table = schema.store_version
    conn.execute(table.update().values(version=table.c.version + 1))


def read_version(conn: Connection) -> int:
    return int(conn.execute(select(schema.store_version.c.version)).scalar() or 0)


def last_synced(engine: Engine, account: str) -> datetime | None:
    table = schema.sync_state
    with engine.connect() as conn:
        at: datetime | None = conn.execute(
            select(func.max(table.c.updated_at)).where(table.c.account == account)
        ).scalar()
        return at
