"""Moving up: copy everything into another, empty database, and count rows.

:func:`copy` reads every table of ``schema.metadata`` (contacts, their
emails and tags, touches, interactions, sync cursors, the told-state and the
alert claims, the per-address summary, the change counter) from one database
and writes it into another that must be empty, keeping the ids
(PostgreSQL's sequences are moved past them). It writes in batches, in one
transaction on the target: the counts are compared before it commits, so a
failure or a mismatch leaves the target as empty as it was. The source is
only read. Leases are not copied: they belong to the daemons running now
against the old database. ``store_version``'s one row, which the target's
migration already wrote, is overwritten with the source's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, insert, select, text

from syncd import schema
from syncd.errors import Invalid, Unavailable

#: Every table ``db status`` counts, in foreign-key order.
COUNTED: tuple[Table, ...] = tuple(schema.metadata.sorted_tables)
#: What ``db copy`` moves: everything but the running daemons' leases.
COPIED: tuple[Table, ...] = tuple(t for t in COUNTED if t is not schema.account_leases)
#: Rows a fresh schema holds already (migrations seed them); not "data".
_SEEDED = {schema.store_version.name}
BATCH = 5000

#: Called after each written batch: (table, rows so far, rows in the table).
Progress = Callable[[str, int, int], None]


def _count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: _count(conn, t) for t in COUNTED}


def _order(table: Table) -> list[Any]:
    return list(table.primary_key.columns)


def copy(source: Engine, target: Engine, progress: Progress | None = None) -> dict[str, int]:
    """Copy :data:`COPIED` from ``source`` into the empty ``target``; the counts copied."""
    with target.connect() as conn:
        filled = [
            t.name
            for t in COUNTED
            if t.name not in _SEEDED and conn.execute(select(1).select_from(t).limit(1)).first()
        ]
    if filled:
        raise Invalid(
            f"the target database is not empty ({', '.join(filled)} hold rows); "
            "db copy only fills an empty database"
        )
    copied: dict[str, int] = {}
    with source.connect() as src, target.begin() as dst:
        for table in COPIED:
            if table.name in _SEEDED:
                dst.execute(delete(table))
            total = _count(src, table)
            done = 0
            rows = src.execution_options(stream_results=True, yield_per=BATCH).execute(
                select(table).order_by(*_order(table))
            )
            for part in rows.partitions(BATCH):
                dst.execute(insert(table), [row._asdict() for row in part])
                done += len(part)
                if progress:
                    progress(table.name, done, total)
            if progress and not total:
                progress(table.name, 0, 0)
            copied[table.name] = done
        for table in COPIED:
            got = _count(dst, table)
            if got != copied[table.name] or got != _count(src, table):
                raise Unavailable(
                    f"db copy: {table.name} has {got} rows in the target, "
                    f"{copied[table.name]} were read; nothing was copied"
                )
        if dst.dialect.name == "postgresql":
            for table in COPIED:
                if "id" in table.c and table.c.id.primary_key:
                    dst.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)"
                        )
                    )
    return copied
