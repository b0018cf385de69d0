"""Stored facts + cadences + the clock -> where each contact stands.

A tracked contact is due at its last contact + its cadence; one never
contacted is counted from when it was added. It is overdue once that moment
is past, unless it is snoozed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from syncd.config import Config
from syncd.store import ContactFacts


@dataclass(frozen=True)
class Standing:
    facts: ContactFacts
    cadence: timedelta
    due: datetime | None  # last contact + cadence; None when never contacted
    next_due: datetime  # due, or (never contacted) when it was added + cadence
    overdue_by: timedelta | None  # None unless overdue and not snoozed
    snoozed: bool

    @property
    def overdue(self) -> bool:
        return self.overdue_by is not None


def standing(facts: ContactFacts, config: Config, now: datetime) -> Standing:
    cadence = config.cadence_for(facts.cadence, facts.tags)
    last = facts.last_contact
    due = last + cadence if last is not None else None
    next_due = due if due is not None else facts.created_at + cadence
    snoozed = facts.snoozed_until is not None and facts.snoozed_until > now
    overdue_by = now - next_due if next_due <= now and not snoozed else None
    return Standing(facts, cadence, due, next_due, overdue_by, snoozed)


def standings(contacts: list[ContactFacts], config: Config, now: datetime) -> list[Standing]:
    """Every contact's standing, most overdue first, then soonest due."""
    result = [standing(c, config, now) for c in contacts]

    def order(s: Standing) -> tuple[int, float, str]:
        return (1 if s.snoozed else 0, (s.next_due - now).total_seconds(), s.facts.name.lower())

    return sorted(result, key=order)
