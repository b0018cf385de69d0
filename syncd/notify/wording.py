"""The words of a notification: who, how long it has been, and which way the last mail went.

"You last wrote to Priya 7 months ago" asks for a different action than
"Priya wrote 3 weeks ago and you have not replied", and "You last met Priya 7
months ago" says it was a meeting on the calendar, so each kind and direction
has its own sentence. Several alerts make one digest with a count (on the
first run, "40 people are due").
"""

from __future__ import annotations

from datetime import datetime

from syncd.durations import format_duration
from syncd.model import Alert, AlertKind, Direction
from syncd.notify.base import ACTIONS, Notification

DIGEST_LINES = 8  # more than this: "... and N more"


def _waiting_on_me(alert: Alert) -> bool:
    """A reply owed, or a lapse whose last mail came from them: they wait on me."""
    return alert.kind == AlertKind.REPLY or alert.direction == Direction.RECEIVED


def sentence(alert: Alert, now: datetime) -> str:
    """The full sentence for one alert."""
    ago, name = format_duration(alert.age(now)), alert.name
    if _waiting_on_me(alert):
        text = f"{name} wrote {ago} ago and you have not replied"
        return text + (f": “{alert.subject}”" if alert.subject else ".")
    if alert.direction == Direction.SENT:
        return f"You last wrote to {name} {ago} ago."
    if alert.direction == Direction.MET:
        return f"You last met {name} {ago} ago."
    if alert.direction == Direction.TOUCH:
        return f"You were last in touch with {name} {ago} ago."
    return f"You have not been in touch with {name} since you added them {ago} ago."


def _short(alert: Alert, now: datetime) -> str:
    """One digest line."""
    ago = format_duration(alert.age(now))
    if _waiting_on_me(alert):
        return f"{alert.name}: wrote {ago} ago, not replied"
    if alert.direction == Direction.SENT:
        return f"{alert.name}: you last wrote {ago} ago"
    if alert.direction == Direction.MET:
        return f"{alert.name}: you last met {ago} ago"
    if alert.direction == Direction.TOUCH:
        return f"{alert.name}: last in touch {ago} ago"
    return f"{alert.name}: nothing since added {ago} ago"


def _summary(alert: Alert) -> str:
    if _waiting_on_me(alert):
        return f"{alert.name} is waiting for a reply"
    return f"Time to get in touch with {alert.name}"


def _common(values: list[str]) -> str:
    return values[0] if len(set(values)) == 1 else "mixed"


def compose(alerts: list[Alert], now: datetime, *, first_run: bool = False) -> Notification:
    """One notification for the alerts of one check (a digest when there are several).

    ``first_run``: nothing was ever told on this channel; the summary says how
    many are due at once ("40 people are due").
    """
    if not alerts:
        raise ValueError("nothing to compose")
    days = max(int(a.age(now).total_seconds() // 86400) for a in alerts)
    fields = {
        "name": ", ".join(a.name for a in alerts),
        "email": ", ".join(a.email or "" for a in alerts),
        "days": str(days),
        "direction": _common([str(a.direction) if a.direction else "none" for a in alerts]),
        "kind": _common([str(a.kind) for a in alerts]),
        "count": str(len(alerts)),
    }
    if len(alerts) == 1:
        alert = alerts[0]
        summary, body = _summary(alert), sentence(alert, now)
        actions = ACTIONS if alert.email else ACTIONS[1:]
    else:
        lines = [_short(a, now) for a in alerts[:DIGEST_LINES]]
        if len(alerts) > DIGEST_LINES:
            lines.append(f"… and {len(alerts) - DIGEST_LINES} more")
        summary = (
            f"{len(alerts)} people are due"
            if first_run
            else f"{len(alerts)} people to get back in touch with"
        )
        body = "\n".join(f"• {line}" for line in lines)
        actions = ()
    return Notification(
        summary=summary,
        body=body,
        alerts=tuple(alerts),
        fields={**fields, "summary": summary, "body": body},
        actions=actions,
    )
