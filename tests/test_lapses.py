"""Lapse rules: who is overdue, who is owed a reply, when to tell again, quiet hours, digests.

Pure: contacts' facts from ``make_facts`` and configs from ``make_config``
(tests/conftest.py), no database."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from syncd.lapses import alert_for, due_alerts, in_quiet_hours
from syncd.model import AlertKind, Told
from syncd.notify.wording import compose
from tests.factories import DAY, NOW, ConfigFactory, FactsFactory


def test_overdue_after_last_contact_plus_cadence(
    make_config: ConfigFactory, make_facts: FactsFactory
) -> None:
    alert = alert_for(make_facts(sent=NOW - 100 * DAY), make_config(), NOW)
    assert alert is not None
    assert (alert.kind, alert.direction, alert.basis) == (AlertKind.LAPSE, "sent", NOW - 100 * DAY)
    assert compose([alert], NOW).body == "You last wrote to Priya 3 months ago."


def test_not_yet_due(make_config: ConfigFactory, make_facts: FactsFactory) -> None:
    assert alert_for(make_facts(sent=NOW - 80 * DAY), make_config(), NOW) is None


def test_never_contacted_counts_from_when_added(
    make_config: ConfigFactory, make_facts: FactsFactory
) -> None:
    assert alert_for(make_facts(created=NOW - 10 * DAY), make_config(), NOW) is None
    alert = alert_for(make_facts(created=NOW - 95 * DAY), make_config(), NOW)
    assert alert is not None and alert.direction is None
    assert alert.basis == NOW - 95 * DAY
    assert "since you added them 3 months ago" in compose([alert], NOW).body


def test_snoozed_contact_is_quiet_until_the_snooze_ends(
    make_config: ConfigFactory, make_facts: FactsFactory
) -> None:
    snoozed = make_facts(sent=NOW - 200 * DAY, snoozed_until=NOW + DAY)
    assert alert_for(snoozed, make_config(), NOW) is None
    assert alert_for(snoozed, make_config(), NOW + 2 * DAY) is not None


def test_tag_cadence_applies_when_the_contact_has_none(
    make_config: ConfigFactory, make_facts: FactsFactory
) -> None:
    cfg = make_config(tags={"close": {"cadence": "30d"}})
    assert alert_for(make_facts(sent=NOW - 40 * DAY, tags=["close"]), cfg, NOW) is not None
    assert alert_for(make_facts(sent=NOW - 40 * DAY), cfg, NOW) is None
    # the contact's own cadence wins over its tag's
    own = make_facts(sent=NOW - 40 * DAY, tags=["close"], cadence=60 * DAY)
    assert alert_for(own, cfg, NOW) is None


def test_told_once_then_again_only_after_renotify_after(
    make_config: ConfigFactory, make_facts: FactsFactory
) -> None:
    cfg = make_config(notify={"renotify_after": "14d"})
    contact = make_facts(sent=NOW - 100 * DAY)
    assert len(due_alerts([contact], cfg, NOW, {})) == 1
    told: dict[tuple[int, str], Told] = {(1, AlertKind.LAPSE): Told(basis=NOW - 100 * DAY, at=NOW)}
    assert due_alerts([contact], cfg, NOW + DAY, told) == []
    assert due_alerts([contact], cfg, NOW + 13 * DAY, told) == []
    assert len(due_alerts([contact], cfg, NOW + 14 * DAY, told)) == 1


def test_a_new_interaction_ends_the_lapse(
    make_config: ConfigFactory, make_facts: FactsFactory
) -> None:
    cfg = make_config()
    told: dict[tuple[int, str], Told] = {(1, AlertKind.LAPSE): Told(basis=NOW - 100 * DAY, at=NOW)}
    # a mail since: not overdue any more
    assert due_alerts([make_facts(sent=NOW - 100 * DAY, received=NOW - DAY)], cfg, NOW, told) == []
    # and when that one lapses in turn, it is a new lapse, told at once
    later = NOW + 95 * DAY
    again = due_alerts([make_facts(sent=NOW - DAY)], cfg, later, told)
    assert [a.basis for a in again] == [NOW - DAY]


def test_snooze_ending_tells_again_before_renotify_after(
    make_config: ConfigFactory, make_facts: FactsFactory
) -> None:
    cfg = make_config(notify={"renotify_after": "60d"})
    told: dict[tuple[int, str], Told] = {(1, AlertKind.LAPSE): Told(basis=NOW - 100 * DAY, at=NOW)}
    contact = make_facts(sent=NOW - 100 * DAY, snoozed_until=NOW + 30 * DAY)
    assert due_alerts([contact], cfg, NOW + 29 * DAY, told) == []
    assert len(due_alerts([contact], cfg, NOW + 31 * DAY, told)) == 1


def test_reply_owed_has_its_own_words_and_ends_with_a_reply(
    make_config: ConfigFactory, make_facts: FactsFactory
) -> None:
    cfg = make_config(notify={"reply_after": "14d"})
    wrote = make_facts(sent=NOW - 60 * DAY, received=NOW - 21 * DAY)
    alert = alert_for(wrote, cfg, NOW)
    assert alert is not None and alert.kind == AlertKind.REPLY
    note = compose([alert], NOW)
    assert note.summary == "Priya is waiting for a reply"
    assert note.body == "Priya wrote 3 weeks ago and you have not replied."
    # not yet 14 days: nothing
    assert alert_for(make_facts(sent=NOW - 60 * DAY, received=NOW - 10 * DAY), cfg, NOW) is None
    # replied since: nothing
    assert alert_for(make_facts(sent=NOW - 2 * DAY, received=NOW - 21 * DAY), cfg, NOW) is None


def test_reply_after_off_disables_replies_owed(
    make_config: ConfigFactory, make_facts: FactsFactory
) -> None:
    cfg = make_config(notify={"reply_after": "off"})
    assert alert_for(make_facts(sent=NOW - 60 * DAY, received=NOW - 21 * DAY), cfg, NOW) is None
    # an overdue contact whose last mail came from them still lapses, in reply words
    alert = alert_for(make_facts(received=NOW - 210 * DAY), cfg, NOW)
    assert alert is not None and alert.kind == AlertKind.LAPSE
    assert compose([alert], NOW).body == "Priya wrote 7 months ago and you have not replied."


@pytest.mark.parametrize(
    ("clock", "quiet"),
    [
        (time(21, 59), False),
        (time(22, 0), True),
        (time(3, 0), True),
        (time(7, 59), True),
        (time(8, 0), False),
        (time(12, 0), False),
    ],
)
def test_quiet_hours_across_midnight(clock: time, quiet: bool, make_config: ConfigFactory) -> None:
    window = make_config(notify={"quiet_hours": "22:00-08:00"}).notify.quiet
    assert in_quiet_hours(window, clock) is quiet


def test_quiet_hours_within_a_day(make_config: ConfigFactory) -> None:
    window = make_config(notify={"quiet_hours": "12:30-14:00"}).notify.quiet
    assert in_quiet_hours(window, time(13, 0))
    assert not in_quiet_hours(window, time(14, 0))
    assert not in_quiet_hours(None, time(13, 0))


def test_many_lapses_make_one_digest_with_a_count(
    make_config: ConfigFactory, make_facts: FactsFactory
) -> None:
    cfg = make_config()
    contacts = [make_facts(name=f"Person{i}", id=i, sent=NOW - (100 + i) * DAY) for i in range(10)]
    contacts.append(make_facts(name="Priya", id=99, sent=NOW - 60 * DAY, received=NOW - 20 * DAY))
    alerts = due_alerts(contacts, cfg, NOW, {})
    assert len(alerts) == 11
    assert alerts[0].kind == AlertKind.REPLY  # replies owed first
    note = compose(alerts, NOW)
    assert note.summary == "11 people to get back in touch with"
    lines = note.body.splitlines()
    assert lines[0] == "• Priya: wrote 3 weeks ago, not replied"  # 20 days, rounded
    assert lines[-1] == "• … and 3 more"
    assert note.actions == ()  # buttons only for a single contact
    assert note.fields["count"] == "11" and note.fields["kind"] == "mixed"


@pytest.mark.parametrize(
    "bad",
    [timedelta(days=50_000 * 365), timedelta(seconds=5), timedelta(days=999_999_999)],
)
def test_a_contact_with_an_unusable_stored_cadence_is_skipped_and_logged_once(
    bad: timedelta,
    caplog: pytest.LogCaptureFixture,
    make_config: ConfigFactory,
    make_facts: FactsFactory,
) -> None:
    from syncd import lapses

    lapses._reported.clear()
    cfg = make_config()
    broken = make_facts("Broken", id=7, cadence=bad, sent=NOW - 200 * DAY)
    fine = make_facts("Fine", id=8, sent=NOW - 200 * DAY)
    with caplog.at_level("WARNING", logger="weakties.lapses"):
        for _ in range(3):  # a daemon checks again and again
            assert [s.facts.name for s in lapses.standings([broken, fine], cfg, NOW)] == ["Fine"]
            assert [a.name for a in due_alerts([broken, fine], cfg, NOW, {})] == ["Fine"]
            assert alert_for(broken, cfg, NOW) is None
    [record] = caplog.records
    assert record.name == "weakties.lapses"
    assert "'Broken' skipped" in record.getMessage()
    assert "contact edit Broken --cadence" in record.getMessage()
