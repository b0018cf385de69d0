"""Desktop notifications seen for real: weakties tells a lapse and a reply owed to the
dunst notification server on a virtual X display (tests/desktop_session.py); dunst's
own tooling shows what it displayed (``dunstctl history``: summary, body, the hostile
name rendered as text), which buttons it offered (its context menu), and choosing
"Snooze 30d" there snoozes the contact.

``WEAKTIES_SCREENSHOT=docs/desktop-notification.png`` also saves the screen with
both notifications on it (the README's picture).
"""

from __future__ import annotations

import html
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd import actions, alerts
from syncd.model import Direction, NotificationAction
from syncd.notify import make_channels
from syncd.notify.base import ActionRequest
from syncd.store import Store
from tests.dbus_session import STARTUP
from tests.desktop_session import DunstDesktop
from tests.factories import DAY, NOW, ConfigFactory, ContactFactory, InteractionsFactory
from tests.helpers import make_env

HOSTILE = '<a href="http://evil.example">Bob</a> & <b>x</b>'


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DunstDesktop]:
    with DunstDesktop(tmp_path / "desktop") as desktop:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", desktop.bus.address)
        yield desktop


def rendered(markup: str) -> str:
    """The text dunst draws for its (Pango) markup ``message``: tags dropped,
    entities decoded."""
    return html.unescape(re.sub(r"<[^>]*>", "", markup))


def wait_for_request(channels: alerts.Channels) -> ActionRequest:
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        if found := channels.pending_actions():
            [request] = found
            return request
        time.sleep(0.05)
    raise AssertionError("dunst sent no ActionInvoked")


def test_dunst_shows_both_alerts_as_text_and_snooze_from_its_menu_works(
    desk: DunstDesktop,
    tmp_path: Path,
    store: Store,
    make_config: ConfigFactory,
    make_contact: ContactFactory,
    make_interactions: InteractionsFactory,
) -> None:
    config = make_config(notify={"backend": "desktop"})
    make_contact(store, HOSTILE, "bob@example.org", cadence=30 * DAY, created=NOW - 400 * DAY)
    make_interactions(store, "bob@example.org", (Direction.SENT, NOW - 100 * DAY))
    make_contact(store, "Rita", cadence=90 * DAY, created=NOW - 400 * DAY)
    make_interactions(
        store,
        "rita@example.org",
        (Direction.SENT, NOW - 30 * DAY),
        (Direction.RECEIVED, NOW - 10 * DAY),  # a reply is owed from NOW + 4 days
        subject="Lunch on <Friday>?",
    )
    channels = make_channels(config, interactive=True)  # the daemon's: it listens for buttons
    try:
        first = alerts.check(store, config, channels, now=NOW, local_now=NOW)
        later = NOW + 5 * DAY
        second = alerts.check(store, config, channels, now=later, local_now=later)
        assert [len(r.delivered) for r in (first, second)] == [1, 1]
        desk.wait_displayed(2)
        if shot := os.environ.get("WEAKTIES_SCREENSHOT"):
            desk.screenshot(Path(shot))

        offered = desk.choose(r"^#Snooze 30d \(Time to get in touch with ")
        lapse_summary = f"Time to get in touch with {HOSTILE}"
        reply_summary = "Rita is waiting for a reply"
        menu = [re.sub(r" \[\d+,(\w+)\]$", r" [\1]", line) for line in offered]
        for summary in (lapse_summary, reply_summary):
            for label, key in (
                ("Write", "write"),
                ("Snooze 30d", "snooze"),
                ("Mark as contacted", "contacted"),
            ):
                assert f"#{label} ({summary}) [{key}]" in menu, offered
        assert len([m for m in menu if m.startswith("#")]) == 6  # those buttons, no more

        request = wait_for_request(channels)
        assert (request.action, request.alert.name) == (NotificationAction.SNOOZE, HOSTILE)
        actions.perform(request, store, channels, later)
    finally:
        channels.close()

    desk.dunstctl("close-all")
    reply, lapse = desk.history()  # newest first
    assert (lapse["appname"], lapse["summary"]) == ("weakties", lapse_summary)
    assert (reply["appname"], reply["summary"]) == ("weakties", reply_summary)
    lapse_text = f"You last wrote to {HOSTILE} 3 months ago."
    reply_text = "Rita wrote 15 days ago and you have not replied: “Lunch on <Friday>?”"
    assert rendered(lapse["body"]) == lapse_text  # escaped by weakties, shown as text
    assert rendered(reply["body"]) == reply_text
    # what dunst drew: its format "<b>%s</b>\n%b", the name as text, no link, no bold
    assert rendered(lapse["message"]) == f"{lapse_summary}\n{lapse_text}"
    assert rendered(reply["message"]) == f"{reply_summary}\n{reply_text}"
    for entry in (lapse, reply):
        tags = re.findall(r"<(\w+)", entry["message"])
        assert tags == ["b"], entry["message"]  # only dunst's own bold summary

    # Snooze 30d changed the contact's status
    env = make_env(tmp_path, extra='[defaults]\ncadence = "90d"\n')
    env.db = tmp_path / "db" / "weakties.db"  # the fixture's database
    shown = {c["name"]: c for c in env.json("status")}
    assert shown[HOSTILE]["snoozed_until"].startswith((later + 30 * DAY).date().isoformat())
    assert shown["Rita"]["snoozed_until"] is None
