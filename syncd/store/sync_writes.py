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

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, String, func, select

from syncd import schema
from syncd.model import Interaction
from syncd.store import summary
from syncd.store.database import many_rows


def _length(column: str) -> int:
    kind = schema.interactions.c[column].type
    assert isinstance(kind, String) and kind.length is not None
    return kind.length


#: How long each text column of ``interactions`` may be (read once from the schema).
_LENGTHS = {c: _length(c) for c in ("name", "folder", "message_id", "subject", "dedupe_key")}


def _fit(column: str, text: str | None) -> str | None:
    """``text`` cut to the ``interactions`` column's length."""
    if text is None:
        return None
    limit = _LENGTHS[column]
    return text if len(text) <= limit else text[:limit]


def _key(key: str) -> str:
    if len(key) <= _LENGTHS["dedupe_key"]:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def save_batch(
    engine: Engine,
    insert: Callable[..., Any],
    account: str,
    found: Sequence[Interaction],
    state: dict[str, dict[str, Any]],
    now: datetime,
) -> int:
    """Store interactions and the connector state together; returns how many were new.

    Every text is cut to its column's length (PostgreSQL refuses a longer one
    where SQLite would keep it); a dedupe key too long for its column is
    replaced by its hash, so that it still tells messages apart.
    """
    rows = [
        {
            "address": i.address,
            "name": _fit("name", i.name),
            "direction": str(i.direction),
            "at": i.at,
            "account": account,
            "folder": _fit("folder", i.folder),
            "message_id": _fit("message_id", i.message_id),
            "subject": _fit("subject", i.subject),
            "dedupe_key": _key(i.dedupe_key),
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
    statement, params = many_rows(conn, insert, Ix, rows)
    statement = statement.on_conflict_do_nothing().returning(
        Ix.c.address, Ix.c.name, Ix.c.direction, Ix.c.at
    )
    new = [tuple(r) for r in conn.execute(statement, params)]
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


def record_poll(
    engine: Engine, insert: Callable[..., Any], account: str, at: datetime, new: int
) -> None:
    """Note a successful poll of ``account`` at ``at``; with ``new`` interactions
    found, also the time of the last new mail."""
    values: dict[str, Any] = {"account": account, "last_ok_at": at}
    if new:
        values["last_new_at"] = at
    upsert = insert(schema.account_polls).values(**values)
    with engine.begin() as conn:
        conn.execute(
            upsert.on_conflict_do_update(
                index_elements=["account"],
                set_={k: getattr(upsert.excluded, k) for k in values if k != "account"},
            )
        )


def last_synced(engine: Engine, account: str) -> datetime | None:
    table = schema.sync_state
    with engine.connect() as conn:
        at: datetime | None = conn.execute(
            select(func.max(table.c.updated_at)).where(table.c.account == account)
        ).scalar()
        return at
