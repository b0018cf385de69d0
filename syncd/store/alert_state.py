"""Which alerts were told, and when: the ``notified_alerts`` table.

One row per contact and alert kind, holding the moment the alert was about
(its basis) and when it was last delivered. ``syncd.lapses`` reads this to
decide whether to tell again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncd import models
from syncd.model import Alert, Told


def load(s: Session) -> dict[tuple[int, str], Told]:
    rows = s.scalars(select(models.NotifiedAlert))
    return {(r.contact_id, r.kind): Told(basis=r.basis, at=r.notified_at) for r in rows}


def record(s: Session, alerts: Iterable[Alert], at: datetime) -> None:
    """Remember that these alerts were delivered at ``at``."""
    for alert in alerts:
        s.merge(
            models.NotifiedAlert(
                contact_id=alert.contact_id, kind=alert.kind, basis=alert.basis, notified_at=at
            )
        )
