"""Stored facts + cadences + the clock -> where each contact stands, and what to tell.

A tracked contact is due at its last contact + its cadence; one never
contacted is counted from when it was added. It is overdue once that moment
is past, unless it is snoozed.

The alerts (what the daemon and ``check-lapses`` tell the user) are decided
here too, and nowhere else:

* a **reply owed**: the contact's mail is the latest contact there is, and it
  is older than ``[notify] reply_after``;
* else a **lapse**: the contact is overdue.

Each alert is about one moment (its *basis*: the last contact, their unanswered
mail, or when the contact was added). It is told once; told again only after
``[notify] renotify_after`` (or when a snooze ends) while it still holds; any
newer contact gives a new basis, which ends it. Snoozed contacts get none.
Quiet hours hold every alert back; several alerts in one check make a single
digest.

A contact whose stored values cannot be reckoned with (a cadence outside
1 day..100 years written by an older version or by hand, a date past the
calendar's end) is left out of :func:`standings` and :func:`due_alerts`,
logged once per process, so it never stops the check for the others.
"""

from __future__ import annotations

import logging
import shlex
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from syncd import durations
from syncd.config import Config
from syncd.model import Alert, AlertKind, ContactFacts, Direction, Told

log = logging.getLogger("weakties.lapses")
#: The contacts already logged as skipped (id and the bad value), so a daemon logs once.
_reported: set[tuple[int, timedelta | None]] = set()


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


def _checked(facts: ContactFacts, config: Config, now: datetime) -> Standing | None:
    """The contact's standing, or None (logged once) when its stored values are unusable."""
    why = None
    if facts.cadence is not None:
        try:
            durations.CADENCE.check(facts.cadence)
        except ValueError as exc:
            why = f"its stored cadence ({facts.cadence.total_seconds():.0f} seconds) {exc}"
    if why is None:
        try:
            return standing(facts, config, now)
        except OverflowError:
            why = "its dates run past the calendar's end"
    key = (facts.id, facts.cadence)
    if key not in _reported:
        _reported.add(key)
        log.warning(
            "contact %r skipped: %s; fix it with 'weakties contact edit %s --cadence ...'",
            facts.name,
            why,
            shlex.quote(facts.name),
        )
    return None


def standings(contacts: list[ContactFacts], config: Config, now: datetime) -> list[Standing]:
    """Every contact's standing, most overdue first, then soonest due; a contact
    whose stored values are unusable is left out (and logged once)."""
    result = [s for c in contacts if (s := _checked(c, config, now)) is not None]

    def order(s: Standing) -> tuple[int, float, str]:
        return (1 if s.snoozed else 0, (s.next_due - now).total_seconds(), s.facts.name.lower())

    return sorted(result, key=order)


# --- alerts -----------------------------------------------------------------


def alert_for(facts: ContactFacts, config: Config, now: datetime) -> Alert | None:
    """The alert that holds for a contact now, if any (regardless of what was told);
    none for a contact whose stored values are unusable (logged once)."""
    s = _checked(facts, config, now)
    if s is None or s.snoozed:
        return None
    email = facts.emails[0] if facts.emails else None
    direction = facts.last_direction
    window = config.notify.reply_window
    if (
        window is not None
        and direction == Direction.RECEIVED
        and facts.last_received is not None
        and now - facts.last_received >= window
    ):
        return Alert(AlertKind.REPLY, facts.id, facts.name, email, direction, facts.last_received)
    if s.overdue:
        basis = facts.last_contact or facts.created_at
        return Alert(AlertKind.LAPSE, facts.id, facts.name, email, direction, basis)
    return None


def should_tell(
    alert: Alert,
    told: Told | None,
    snoozed_until: datetime | None,
    renotify_after: timedelta,
    now: datetime,
) -> bool:
    """Told never, or about an older moment -> yes; else once renotify_after has
    passed since, or a snooze has ended since."""
    if told is None or told.basis != alert.basis:
        return True
    if now - told.at >= renotify_after:
        return True
    return snoozed_until is not None and told.at < snoozed_until <= now


def due_alerts(
    contacts: list[ContactFacts], config: Config, now: datetime, told: dict[tuple[int, str], Told]
) -> list[Alert]:
    """The alerts to tell now: replies owed first, then the longest lapses."""
    found = []
    for facts in contacts:
        alert = alert_for(facts, config, now)
        if alert is None:
            continue
        if should_tell(
            alert,
            told.get((alert.contact_id, alert.kind)),
            facts.snoozed_until,
            config.notify.renotify_after,
            now,
        ):
            found.append(alert)
    return sorted(found, key=lambda a: (a.kind != AlertKind.REPLY, a.basis, a.name.lower()))


def in_quiet_hours(window: tuple[time, time] | None, local: time) -> bool:
    """Whether a local wall-clock time falls in "start-end" (which may span midnight)."""
    if window is None:
        return False
    start, end = window
    local = local.replace(second=0, microsecond=0, tzinfo=None)
    if start < end:
        return start <= local < end
    return local >= start or local < end
