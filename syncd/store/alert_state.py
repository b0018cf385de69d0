"""What was told, where and when: ``notified_alerts``, ``notify_budget``, ``digest_state``.

* One ``notified_alerts`` row per contact, alert kind and channel, holding the
  moment the alert was about (its basis) and when that channel last delivered
  it. Rows with channel ``""`` (told before channels existed) and ``"digest"``
  (listed in a sent email digest) count as told on every channel.
  ``syncd.lapses`` reads this to decide whether to tell again.
* ``notify_budget``: per channel, the local day of its latest notification and
  how many it sent that day (``[notify] max_per_day``).
* ``digest_state``: when the email digest last went out.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncd import models, schema
from syncd.model import Alert, Told

#: Rows from before channels existed, and alerts the digest listed: told everywhere.
EVERYWHERE = ("", "digest")
DIGEST_CHANNEL = "digest"


def load(s: Session, channel: str) -> dict[tuple[int, str], Told]:
    """What ``channel`` was told (the newest of its own rows and the shared ones)."""
    wanted = (channel, *EVERYWHERE)
    rows = s.scalars(select(models.NotifiedAlert).where(models.NotifiedAlert.channel.in_(wanted)))
    found: dict[tuple[int, str], Told] = {}
    for r in rows:
        key = (r.contact_id, r.kind)
        if key not in found or r.notified_at > found[key].at:
            found[key] = Told(basis=r.basis, at=r.notified_at)
    return found


def record(s: Session, alerts: Iterable[Alert], at: datetime, channel: str) -> None:
    """Remember that ``channel`` delivered these alerts at ``at``."""
    for alert in alerts:
        s.merge(
            models.NotifiedAlert(
                contact_id=alert.contact_id,
                kind=alert.kind,
                channel=channel,
                basis=alert.basis,
                notified_at=at,
            )
        )


def sent_on(s: Session, channel: str, day: date) -> int:
    """How many notifications ``channel`` sent on the local ``day``."""
    t = schema.notify_budget
    row = s.execute(select(t.c.day, t.c.sent).where(t.c.channel == channel)).first()
    return int(row.sent) if row is not None and row.day == day.isoformat() else 0


def count_sent(s: Session, channel: str, day: date) -> None:
    """One more notification on ``channel`` on ``day`` (an older day starts again at 1)."""
    t = schema.notify_budget
    sent = sent_on(s, channel, day) + 1
    exists = s.execute(select(t.c.channel).where(t.c.channel == channel)).first()
    if exists is None:
        s.execute(t.insert().values(channel=channel, day=day.isoformat(), sent=sent))
    else:
        s.execute(t.update().where(t.c.channel == channel).values(day=day.isoformat(), sent=sent))


def digest_sent(s: Session) -> datetime | None:
    t = schema.digest_state
    return s.execute(select(t.c.last_sent).where(t.c.name == "digest")).scalar()


def record_digest(s: Session, at: datetime, alerts: Iterable[Alert]) -> None:
    """The digest went out at ``at``, listing ``alerts`` (told on every channel by it)."""
    t = schema.digest_state
    if digest_sent(s) is None:
        s.execute(t.insert().values(name="digest", last_sent=at))
    else:
        s.execute(t.update().where(t.c.name == "digest").values(last_sent=at))
    record(s, alerts, at, DIGEST_CHANNEL)
