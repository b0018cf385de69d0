"""Desktop notifications through a real D-Bus session bus (dbus-daemon) and the
notification server of tests/dbus_services.py: the Notify calls made, escaping,
buttons, a bus that restarts, and no bus at all."""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jeepney import HeaderFields, MatchRule, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection
from jeepney.low_level import Message
from jeepney.wrappers import DBusErrorResponse, unwrap_msg

from syncd import actions, alerts
from syncd.config import parse
from syncd.lapses import alert_for
from syncd.model import Alert, Direction, Interaction
from syncd.notify.base import ActionRequest
from syncd.notify.desktop import DesktopNotifier
from syncd.notify.wording import compose
from syncd.store import Store, open_store
from tests.dbus_services import NOTIFICATIONS, NotificationServer, PortalServer
from tests.dbus_session import STARTUP, SessionBus

NOW = datetime.now(UTC)
HOSTILE = '<a href="http://evil">Bob</a>'
CONFIG = parse({"defaults": {"cadence": "90d"}}, Path("test.toml"))


@pytest.fixture
def server(notification_server: NotificationServer) -> NotificationServer:
    """The notification server of ``tests/conftest.py`` (on the ``bus`` fixture)."""
    return notification_server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    (tmp_path / "db").mkdir(mode=0o700)
    opened = open_store(f"sqlite:///{tmp_path / 'db' / 'weakties.db'}")
    yield opened
    opened.close()


def add_lapsed(store: Store, name: str, email: str, days: int = 100) -> Alert:
    """A tracked contact last written to ``days`` ago; returns its alert."""
    store.add_contact(name, [email], None, [], NOW - timedelta(days=400))
    sent = Interaction(
        address=email,
        name="",
        direction=Direction.SENT,
        at=NOW - timedelta(days=days),
        folder="Sent",
        message_id=f"<{email}>",
        subject="hello",
        dedupe_key=f"<{email}>",
    )
    store.save_batch("mail", [sent], {}, NOW)
    [facts] = store.contacts([name])
    alert = alert_for(facts, CONFIG, NOW)
    assert alert is not None
    return alert


def wait_for_buttons(notifier: DesktopNotifier) -> list[ActionRequest]:
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        if found := notifier.pending_actions():
            return found
        time.sleep(0.02)
    raise AssertionError("no ActionInvoked signal arrived")


def test_one_lapse_is_one_notify_call_with_text_and_buttons(
    server: NotificationServer, store: Store
) -> None:
    alert = add_lapsed(store, "Priya", "priya@example.org", days=210)
    notifier = DesktopNotifier(interactive=True)
    assert notifier.deliver(compose([alert], NOW))
    [call] = server.notify_calls()
    assert call["app_name"] == "weakties"
    assert call["summary"] == "Time to get in touch with Priya"
    assert call["body"] == "You last wrote to Priya 7 months ago."
    assert call["actions"] == [
        "write",
        "Write",
        "snooze",
        "Snooze 30d",
        "contacted",
        "Mark as contacted",
    ]
    assert call["hints"] == {"urgency": ("y", 1), "category": ("s", "email")}
    assert (call["replaces_id"], call["expire_timeout"]) == (0, -1)
    notifier.close()


def test_hostile_name_and_subject_are_escaped_in_the_markup_body(
    server: NotificationServer,
) -> None:
    owed = Alert(
        "reply",
        7,
        HOSTILE,
        "bob@example.org",
        "received",
        NOW - timedelta(days=21),
        subject="<b>urgent</b> & <img src=x>",
    )
    lapsed = Alert("lapse", 8, HOSTILE, "bob@example.org", "sent", NOW - timedelta(days=100))
    notifier = DesktopNotifier(interactive=True)
    assert notifier.deliver(compose([owed], NOW))
    assert notifier.deliver(compose([owed, lapsed], NOW))
    single, digest = server.notify_calls()
    escaped = "&lt;a href=&quot;http://evil&quot;&gt;Bob&lt;/a&gt;"
    assert single["body"] == (
        f"{escaped} wrote 3 weeks ago and you have not replied: "
        "“&lt;b&gt;urgent&lt;/b&gt; &amp; &lt;img src=x&gt;”"
    )
    assert escaped in digest["body"]
    for call in (single, digest):
        assert "<a" not in call["body"] and "<b>" not in call["body"]
        assert "<img" not in call["body"]
    # the summary is plain text by the specification: shown as is, never interpreted
    assert single["summary"] == f"{HOSTILE} is waiting for a reply"
    assert digest["summary"] == "2 people to get back in touch with"
    assert digest["actions"] == []  # a digest has no per-contact buttons
    notifier.close()


def test_plain_server_gets_plain_text_and_no_buttons(bus: SessionBus) -> None:
    plain = NotificationServer(bus, ["body"])
    try:
        alert = Alert("lapse", 8, "A & B <x>", "ab@example.org", "sent", NOW - timedelta(days=100))
        notifier = DesktopNotifier(interactive=True)
        assert notifier.deliver(compose([alert], NOW))
        [call] = plain.notify_calls()
        assert call["body"] == "You last wrote to A & B <x> 3 months ago."
        assert call["actions"] == []
        notifier.close()
    finally:
        plain.stop()


def test_one_shot_check_offers_no_buttons(server: NotificationServer) -> None:
    alert = Alert("lapse", 8, "Priya", "priya@example.org", "sent", NOW - timedelta(days=100))
    notifier = DesktopNotifier(interactive=False)  # check-lapses: nobody stays to listen
    assert notifier.deliver(compose([alert], NOW))
    assert server.notify_calls()[0]["actions"] == []


def test_buttons_snooze_and_mark_as_contacted(server: NotificationServer, store: Store) -> None:
    priya = add_lapsed(store, "Priya", "priya@example.org")
    bob = add_lapsed(store, "Bob", "bob@example.org")
    notifier = DesktopNotifier(interactive=True)
    assert notifier.deliver(compose([priya], NOW))  # id 1
    assert notifier.deliver(compose([bob], NOW))  # id 2
    server.press(1, "snooze")
    [request] = wait_for_buttons(notifier)
    assert (request.action, request.alert.name) == ("snooze", "Priya")
    actions.perform(request, store, notifier, NOW)
    server.press(2, "contacted")
    [request] = wait_for_buttons(notifier)
    actions.perform(request, store, notifier, NOW)
    facts = {f.name: f for f in store.contacts()}
    assert facts["Priya"].snoozed_until == NOW + timedelta(days=30)
    assert facts["Bob"].last_touch == NOW
    assert alert_for(facts["Bob"], CONFIG, NOW) is None  # the lapse has ended
    assert notifier.deliver(compose([priya], NOW))  # id 3
    server.press(99, "snooze")  # not ours: ignored
    server.press(1, "write")  # already answered: ignored
    server.press(3, "delete-everything")  # not a button we offered: ignored
    server.press(3, "contacted")
    requests = wait_for_buttons(notifier)  # signals arrive in order: the last one counts
    assert [(r.action, r.alert.name) for r in requests] == [("contacted", "Priya")]
    notifier.close()


def test_a_closed_notification_loses_its_buttons(server: NotificationServer, store: Store) -> None:
    priya = add_lapsed(store, "Priya", "priya@example.org")
    notifier = DesktopNotifier(interactive=True)
    assert notifier.deliver(compose([priya], NOW))  # id 1
    assert notifier.deliver(compose([priya], NOW))  # id 2
    server.close(1)  # dismissed: its buttons are gone
    server.press(1, "snooze")
    server.press(2, "contacted")
    requests = wait_for_buttons(notifier)
    assert [(r.action, r.alert.name) for r in requests] == [("contacted", "Priya")]
    notifier.close()


def test_the_notification_server_fixture_speaks_the_specification(
    server: NotificationServer,
) -> None:
    """The parts of the server the notifier does not call, checked with a plain client."""
    conn = open_dbus_connection(bus=os.environ["DBUS_SESSION_BUS_ADDRESS"])
    try:

        def call(
            member: str, signature: str = "", body: tuple[object, ...] = ()
        ) -> tuple[Any, ...]:
            return tuple(
                unwrap_msg(
                    conn.send_and_get_reply(
                        new_method_call(NOTIFICATIONS, member, signature, body), timeout=STARTUP
                    )
                )
            )

        rule = MatchRule(type="signal", interface=NOTIFICATIONS.interface)
        unwrap_msg(conn.send_and_get_reply(message_bus.AddMatch(rule), timeout=STARTUP))
        closed: deque[Message] = deque()
        conn.filter(rule, queue=closed)
        (capabilities,) = call("GetCapabilities")
        assert sorted(capabilities) == ["actions", "body", "body-markup"]
        assert call("GetServerInformation")[3] == "1.2"  # the specification's version
        args: tuple[object, ...] = ("app", 0, "", "s", "b", [], {}, -1)
        (first,) = call("Notify", "susssasa{sv}i", args)
        (replaced,) = call("Notify", "susssasa{sv}i", ("app", first, *args[2:]))
        assert replaced == first
        call("CloseNotification", "u", (first,))
        message = conn.recv_until_filtered(closed, timeout=STARTUP)
        assert message.header.fields[HeaderFields.member] == "NotificationClosed"
        assert message.body == (first, 3)
        with pytest.raises(DBusErrorResponse):
            call("Nonsense")
        assert [c.member for c in server.calls] == [
            "GetCapabilities",
            "GetServerInformation",
            "Notify",
            "Notify",
            "CloseNotification",
            "Nonsense",
        ]
    finally:
        conn.close()


def test_write_button_opens_a_mailto_link_through_the_portal(
    bus: SessionBus, server: NotificationServer, store: Store
) -> None:
    portal = PortalServer(bus)
    try:
        alert = add_lapsed(store, "Priya", "priya+friends@example.org")
        notifier = DesktopNotifier(interactive=True)
        assert notifier.deliver(compose([alert], NOW))
        server.press(1, "write")
        [request] = wait_for_buttons(notifier)
        actions.perform(request, store, notifier, NOW)
        assert portal.opened() == ["mailto:priya+friends@example.org"]
        notifier.close()
    finally:
        portal.stop()


def test_recovers_when_the_session_bus_restarts(bus: SessionBus) -> None:
    alert = Alert("lapse", 8, "Priya", "priya@example.org", "sent", NOW - timedelta(days=100))
    first = NotificationServer(bus, ["body", "actions"])
    notifier = DesktopNotifier(interactive=True)
    assert notifier.deliver(compose([alert], NOW))
    first.stop()
    bus.stop()  # log out ...
    bus.start()  # ... and in again: a new bus at the same address
    second = NotificationServer(bus, ["body", "actions"])
    try:
        assert notifier.pending_actions() == []  # notices the old bus is gone, no crash
        assert notifier.deliver(compose([alert], NOW))
        assert len(second.notify_calls()) == 1
    finally:
        notifier.close()
        second.stop()


def test_bus_without_a_notification_server_falls_back(bus: SessionBus) -> None:
    alert = Alert("lapse", 8, "Priya", "priya@example.org", "sent", NOW - timedelta(days=100))
    assert DesktopNotifier(interactive=True).deliver(compose([alert], NOW)) is False


def test_no_session_bus_logs_the_lapse_and_tries_again_next_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # no bus socket there
    add_lapsed(store, "Priya", "priya@example.org", days=210)
    notifier = DesktopNotifier(interactive=True)
    with caplog.at_level(logging.INFO):
        first = alerts.check(store, CONFIG, notifier)
        second = alerts.check(store, CONFIG, notifier)
    assert first.failed and not first.delivered
    assert "You last wrote to Priya 7 months ago." in caplog.text
    assert "desktop notifications unavailable" in caplog.text
    assert second.failed  # not recorded as told: the desktop is tried again
