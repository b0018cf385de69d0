"""What was told, where and when: ``notified_alerts``, ``notify_budget``, ``digest_state``.

* One ``notified_alerts`` row per contact, alert kind and channel, holding the
  moment the alert was about (its basis) and when that channel last delivered
  it. Rows with channel ``""`` (told before channels existed) and ``"digest"``
  (listed in a sent email digest) count as told on every channel.
  ``syncd.lapses`` reads this (``queries.told``) to decide whether to tell again.
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
from syncd.model import Alert

#: The channel of the alerts a sent email digest listed (``queries.EVERYWHERE``).
DIGEST_CHANNEL = "digest"


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


def count_sent(s: Session, channel: str, day: date) -> None:
    """One more notification on ``channel`` on ``day`` (an older day starts again at 1)."""
    t = schema.notify_budget
    row = s.execute(select(t.c.day, t.c.sent).where(t.c.channel == channel)).first()
    sent = (int(row.sent) if row is not None and row.day == day.isoformat() else 0) + 1
    if row is None:
        s.execute(t.insert().values(channel=channel, day=day.isoformat(), sent=sent))
    else:
        s.execute(t.update().where(t.c.channel == channel).values(day=day.isoformat(), sent=sent))


def record_digest(s: Session, at: datetime, alerts: Iterable[Alert]) -> None:
    """The digest went out at ``at``, listing ``alerts`` (told on every channel by it)."""
    t = schema.digest_state
    if s.execute(select(t.c.name).where(t.c.name == "digest")).first() is None:
        s.execute(t.insert().values(name="digest", last_sent=at))
    else:
        s.execute(t.update().where(t.c.name == "digest").values(last_sent=at))
    record(s, alerts, at, DIGEST_CHANNEL)
