"""Which daemon polls which account: the ``account_leases`` table.

Several daemons (one per machine) may share one database. Each account is
polled by the daemon that holds its lease: a row naming the holder
(``hostname:pid``, one per daemon process) and when the lease expires.

* :func:`acquire` is one statement, atomic on SQLite and PostgreSQL:
  ``INSERT ... ON CONFLICT (account) DO UPDATE ... WHERE`` the lease is ours
  or has expired, ``RETURNING`` the row only when it was written. On
  PostgreSQL the conflicting row is locked and the ``WHERE`` re-checked, so of
  two daemons racing for an expired lease exactly one gets it.
* :func:`renew` pushes the expiry on while a poll runs (between batches);
  it fails once another daemon has taken the lease over.
* :func:`release` gives it up (a daemon stopping); a daemon that dies simply
  stops renewing, and the lease expires.

Reading the leases (``service status``) is ``syncd.store.queries.leases``.

Times come from the caller's clock: the machines sharing a database must
keep their clocks in step (NTP); a lease's time to live of two poll
intervals leaves room for a few seconds of skew.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, case, delete, update

from syncd import schema

_table = schema.account_leases


def acquire(
    engine: Engine,
    insert: Callable[..., Any],
    account: str,
    holder: str,
    ttl: timedelta,
    now: datetime,
) -> bool:
    """Take or renew the lease on ``account`` for ``ttl``; False when another holds it."""
    stmt = insert(_table).values(
        account=account, holder=holder, expires_at=now + ttl, acquired_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["account"],
        set_={
            "holder": stmt.excluded.holder,
            "expires_at": stmt.excluded.expires_at,
            "acquired_at": case(
                (_table.c.holder == stmt.excluded.holder, _table.c.acquired_at),
                else_=stmt.excluded.acquired_at,
            ),
        },
        where=(_table.c.holder == holder) | (_table.c.expires_at <= now),
    ).returning(_table.c.holder)
    with engine.begin() as conn:
        return conn.execute(stmt).first() is not None


def renew(
    engine: Engine,
    account: str,
    holder: str,
    ttl: timedelta,
    now: datetime,
    *,
    polled: bool = False,
) -> bool:
    """Push the expiry of our lease on (and with ``polled`` note a finished poll)."""
    values: dict[str, Any] = {"expires_at": now + ttl}
    if polled:
        values["last_poll_at"] = now
    stmt = (
        update(_table)
        .where(_table.c.account == account, _table.c.holder == holder)
        .values(**values)
    )
    with engine.begin() as conn:
        return bool(conn.execute(stmt).rowcount == 1)


def release(engine: Engine, account: str, holder: str) -> bool:
    """Give the lease up, if it is still ours."""
    stmt = delete(_table).where(_table.c.account == account, _table.c.holder == holder)
    with engine.begin() as conn:
        return bool(conn.execute(stmt).rowcount == 1)
