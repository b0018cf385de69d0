"""Who tells an alert: the ``alert_claims`` table (each alert told once by several daemons).

Before a daemon delivers an alert on a channel it claims it: one
``INSERT ... ON CONFLICT DO NOTHING RETURNING`` on the unique (contact,
kind, basis, channel), which exactly one daemon can win. A failed delivery
releases the claim (the next check, by any daemon, tries again); a delivered
one stays, so a daemon that read the told-state a moment too early loses.

A claim that exists may be taken over (one ``UPDATE ... WHERE``, which again
only one daemon can win) when

* the caller knows it was told (``told_at``, from the told-state it read,
  no earlier than the claim): that claim's telling is over and recorded, and
  ``syncd.lapses`` has decided to tell the alert again (``renotify_after``
  passed, or a snooze ended). A daemon whose told-state predates the claim
  loses, as it should; or
* it is older than :data:`STALE` (five minutes) and its holder holds no live
  lease any more: a daemon died between claiming and delivering (or
  recording). The rare cost of this choice is a second notification when a
  daemon died after delivering but before recording; the alternative would
  be an alert never told.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, exists, or_, select, update

from syncd import schema
from syncd.model import Alert

STALE = timedelta(minutes=5)
DEFAULT_CHANNEL = "default"
_table = schema.alert_claims
_leases = schema.account_leases


def _key(alert: Alert, channel: str) -> Any:
    return and_(
        _table.c.contact_id == alert.contact_id,
        _table.c.kind == str(alert.kind),
        _table.c.basis == alert.basis,
        _table.c.channel == channel,
    )


def claim(
    engine: Engine,
    insert: Callable[..., Any],
    alert: Alert,
    channel: str,
    holder: str,
    now: datetime,
    told_at: datetime | None,
) -> bool:
    """Claim ``alert`` on ``channel`` for ``holder``; True when this caller won it.
    ``told_at``: when the caller's told-state says this alert was last told."""
    stmt = (
        insert(_table)
        .values(
            contact_id=alert.contact_id,
            kind=str(alert.kind),
            basis=alert.basis,
            channel=channel,
            holder=holder,
            claimed_at=now,
        )
        .on_conflict_do_nothing()
        .returning(_table.c.holder)
    )
    holder_alive = exists(
        select(_leases.c.account).where(
            _leases.c.holder == _table.c.holder, _leases.c.expires_at > now
        )
    )
    retake = (
        update(_table)
        .where(
            _key(alert, channel),
            or_(
                and_(_table.c.claimed_at <= now - STALE, ~holder_alive),
                *([_table.c.claimed_at <= told_at] if told_at is not None else []),
            ),
        )
        .values(holder=holder, claimed_at=now)
    )
    with engine.begin() as conn:
        if conn.execute(stmt).first() is not None:
            return True
        return bool(conn.execute(retake).rowcount == 1)


def release(engine: Engine, alert: Alert, channel: str, holder: str) -> None:
    """Give a claim up (its delivery failed), if it is still ours."""
    with engine.begin() as conn:
        conn.execute(delete(_table).where(_key(alert, channel), _table.c.holder == holder))
