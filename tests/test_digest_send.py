"""The email digest end to end: a real SMTP server (tests/smtp_server.py: aiosmtpd with
STARTTLS and AUTH) receives it; its parts list exactly who is overdue, owed a reply
and coming up; a mailbox (Dovecot) holding copies of it records no interaction; the
daemon sends it on an injected clock once per period, once after a missed one, never
twice after a restart; ``weakties digest --now`` / ``--dry-run``; bad SMTP settings
are one line and the other channels still deliver."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.base import FolderRole, HeaderRecord
from syncd import digest_send
from syncd.config import Config
from syncd.digest import LIST_ID
from syncd.model import Direction
from syncd.rules import interactions
from syncd.store import Store, open_store
from tests.clock import FakeClock
from tests.dovecot import Dovecot, ImapUser, _free_ports
from tests.factories import DAY, NOW, ConfigFactory, ContactFactory, InteractionsFactory
from tests.helpers import Env, imap_account, make_env, message
from tests.smtp_server import HOST, SmtpServer
from tests.test_daemon_inprocess import RecordingNotifier, Rig

MINUTE = timedelta(minutes=1)
TO = "me@phone.example"  # not an identity address: the digest is "from someone else"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def digest_section(smtp: SmtpServer, **changes: Any) -> dict[str, Any]:
    section: dict[str, Any] = {
        "every": "7d",
        "at": "Mon 08:00",
        "to": TO,
        "smtp_host": HOST,
        "smtp_port": smtp.port,
        "security": "starttls",
        "username": smtp.username,
        "ca_file": str(smtp.ca_file),
        "password_command": ["printf", "%s", smtp.password],
    }
    section.update(changes)
    return {k: v for k, v in section.items() if v is not None}


def toml(section: dict[str, Any]) -> str:
    return "[digest]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in section.items())


def parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def people(
    store: Store, make_contact: ContactFactory, make_interactions: InteractionsFactory
) -> None:
    """At NOW, with a 30-day cadence: two overdue, two owed a reply (one of them also
    overdue), one coming due within the week, one not for weeks, one snoozed."""
    cadence = 30 * DAY

    def person(name: str, *moments: tuple[Direction, datetime], subject: str = "hello") -> None:
        make_contact(store, name, cadence=cadence, created=NOW - 400 * DAY)
        make_interactions(store, f"{name.lower()}@example.org", *moments, subject=subject)

    person("Priya", (Direction.SENT, NOW - 40 * DAY))  # overdue by 10 days
    person("Olga", (Direction.RECEIVED, NOW - 70 * DAY), (Direction.SENT, NOW - 55 * DAY))
    person("Rita", (Direction.SENT, NOW - 30 * DAY), (Direction.RECEIVED, NOW - 20 * DAY))
    person(  # overdue by 15 days AND owed a reply: listed once, under replies
        "Zed",
        (Direction.SENT, NOW - 60 * DAY),
        (Direction.RECEIVED, NOW - 45 * DAY),
        subject="<b>our</b> trip & co",
    )
    person("Cara", (Direction.SENT, NOW - 25 * DAY))  # due in 5 days
    person("Far", (Direction.SENT, NOW - 5 * DAY))  # due in 25 days: not this week
    person("Sleepy", (Direction.SENT, NOW - 90 * DAY))
    store.snooze("Sleepy", NOW + 10 * DAY)


def test_the_smtp_server_receives_exactly_the_digest(
    smtp: SmtpServer,
    store: Store,
    make_config: ConfigFactory,
    make_contact: ContactFactory,
    make_interactions: InteractionsFactory,
) -> None:
    people(store, make_contact, make_interactions)
    config = make_config(digest=digest_section(smtp))
    outcome = digest_send.send_digest(store, config, NOW)
    assert outcome.sent
    [received] = smtp.received
    assert (received.mail_from, received.rcpt_tos) == (TO, [TO])
    msg = received.message
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["List-Id"] == "weakties digest <digest.weakties.invalid>"
    assert msg["Subject"] == "weakties: 2 overdue, 2 replies owed, 1 coming up"
    text, html = parts(msg)
    assert text.splitlines() == [
        "Overdue:",
        "- Olga: overdue by 25 days (you wrote last, 55 days ago) <mailto:olga@example.org>",
        "- Priya: overdue by 10 days (you wrote last, 40 days ago) <mailto:priya@example.org>",
        "",
        "Replies owed:",
        "- Zed: wrote to you 45 days ago, not answered yet (<b>our</b> trip & co) "
        "<mailto:zed@example.org>",
        "- Rita: wrote to you 20 days ago, not answered yet (hello) <mailto:rita@example.org>",
        "",
        "Coming up:",
        "- Cara: due in 5 days (Fri 06 Jun) <mailto:cara@example.org>",
    ]
    assert '<a href="mailto:olga@example.org">Olga</a>: overdue by 25 days' in html
    assert '<a href="mailto:zed@example.org">Zed</a>: wrote to you 45 days ago' in html
    assert '<a href="mailto:cara@example.org">Cara</a>: due in 5 days' in html
    for absent in ("Far", "Sleepy"):
        assert absent not in text and absent not in html
    assert html.count("<li>") == 5
    assert "(&lt;b&gt;our&lt;/b&gt; trip &amp; co)" in html and "<b>" not in html
    assert store.digest_sent() == NOW


def test_a_mailbox_with_copies_of_the_digest_records_no_interaction(
    tmp_path: Path, smtp: SmtpServer, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    env = make_env(
        tmp_path,
        imap_account(dovecot, imap_user),
        identity=(imap_user.username,),
        extra='[defaults]\ncadence = "30d"\n' + toml(digest_section(smtp)),
    )
    when = datetime.now(UTC) - 40 * DAY
    assert env.run("contact", "add", "Priya", "--email", "priya@example.org").exit_code == 0
    assert env.run("touch", "Priya", "--at", when.isoformat()).exit_code == 0
    sent = env.run("digest", "--now")
    assert sent.exit_code == 0, sent.output
    [received] = smtp.received
    raw = received.message.as_bytes()
    assert b"mailto:priya@example.org" in raw
    dovecot.create_folder(imap_user.username, "Sent")
    dovecot.append(imap_user.username, "INBOX", raw)  # it arrived
    dovecot.append(imap_user.username, "Sent", raw)  # and the provider kept a copy
    # a control: an ordinary mail from Priya does count
    control = message("Priya <priya@example.org>", imap_user.username, message_id="<c@x>")
    dovecot.append(imap_user.username, "INBOX", control)
    synced = env.run("sync", "--once")
    assert synced.stdout == "mail: 3 messages scanned, 1 new interactions\n", synced.output
    store = open_store(f"sqlite:///{env.db}")
    try:
        _, _, entries = store.evidence("Priya", 10)
        mail = [(e["direction"], e["message_id"]) for e in entries if e["direction"] != "touch"]
        assert mail == [("received", "<c@x>")]
    finally:
        store.close()


def test_an_old_digest_never_counts_even_from_a_sent_folder_after_to_changed() -> None:
    """The digest's To/From are identities while configured; its List-Id keeps a
    copy from before ``to`` changed from counting as mail I sent."""
    msg = EmailMessage()
    msg["From"] = msg["To"] = "old-address@example.net"  # no longer an identity
    msg["Subject"] = "weakties: 1 overdue"
    msg["Date"] = "Mon, 02 Jun 2025 08:00:00 +0000"
    msg["Message-ID"] = "<d@weakties.invalid>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["List-Id"] = LIST_ID
    headers = msg.as_bytes().split(b"\n\n")[0]
    for role in (FolderRole.NORMAL, FolderRole.SENT):
        record = HeaderRecord(headers, NOW, "Sent", role)
        assert interactions(record, frozenset({"me@example.com"})) == []
    del msg["List-Id"], msg["Auto-Submitted"]
    plain = HeaderRecord(msg.as_bytes().split(b"\n\n")[0], NOW, "Sent", FolderRole.SENT)
    assert len(interactions(plain, frozenset({"me@example.com"}))) == 1  # the control


# --- when it goes out: the daemon on an injected clock -------------------------


@pytest.fixture
def rig(store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Rig:
    monkeypatch.setattr(digest_send, "CHECK_EVERY", 600.0)  # 10 fake minutes: a quick loop
    return Rig(store, clock, RecordingNotifier(clock))


def sent_times(smtp: SmtpServer) -> list[str]:
    """When each received digest was sent (its Date header, on the fake clock, UTC)."""
    return [
        parsedate_to_datetime(str(r.message["Date"])).astimezone(UTC).strftime("%a %d %H:%M")
        for r in smtp.received
    ]


def daemon_config(make_config: ConfigFactory, smtp: SmtpServer, **digest: Any) -> Config:
    return make_config(daemon={"poll_interval": "6h"}, digest=digest_section(smtp, **digest))


def overdue(
    store: Store, make_contact: ContactFactory, make_interactions: InteractionsFactory
) -> None:
    make_contact(store, "Priya", cadence=30 * DAY, created=NOW - 400 * DAY)
    make_interactions(store, "priya@example.org", (Direction.SENT, NOW - 40 * DAY))


def test_weekly_once_per_period_once_after_a_missed_one_never_twice_after_a_restart(
    rig: Rig,
    smtp: SmtpServer,
    make_config: ConfigFactory,
    make_contact: ContactFactory,
    make_interactions: InteractionsFactory,
) -> None:
    overdue(rig.store, make_contact, make_interactions)
    config = daemon_config(make_config, smtp)
    hour = timedelta(hours=1)
    # NOW is Sun 01 Jun 12:00 UTC (the fake clock's zone): the first slot is Mon 02 08:00
    rig.run(config, until=8 * DAY + 20 * hour + 30 * MINUTE)  # to Mon 09 08:30
    assert sent_times(smtp) == ["Mon 02 08:00", "Mon 09 08:00"]
    # restarted five minutes later: nothing more before the next slot
    rig.clock.advance(5 * MINUTE)
    rig.run(config, until=14 * DAY + 19 * hour)  # to Mon 16 07:00
    assert len(smtp.received) == 2
    rig.run(config, until=15 * DAY)  # restarted again; on to Mon 16 12:00
    assert sent_times(smtp)[2:] == ["Mon 16 08:00"]
    # the machine is off from Mon 16 12:00 to Thu 26 10:00: the slot of Mon 23 is missed
    rig.clock.advance(9 * DAY + 22 * hour)
    rig.run(config, until=28 * DAY)  # to Sun 29 12:00
    assert sent_times(smtp)[3:] == ["Thu 26 10:00"]  # once at start, not once per slot missed
    rig.run(config, until=28 * DAY + 21 * hour)  # to Mon 30 09:00
    assert sent_times(smtp)[4:] == ["Mon 30 08:00"]
    assert rig.store.digest_sent() == datetime(2025, 6, 30, 8, 0, tzinfo=UTC)


def test_an_unreachable_smtp_server_is_one_line_and_the_alerts_still_go_out(
    rig: Rig,
    make_config: ConfigFactory,
    make_contact: ContactFactory,
    make_interactions: InteractionsFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    overdue(rig.store, make_contact, make_interactions)
    port = _free_ports(1)[0]  # nobody listens there
    config = make_config(
        daemon={"poll_interval": "6h"},
        digest={
            "every": "1d",
            "at": "13:00",
            "to": TO,
            "smtp_host": HOST,
            "smtp_port": port,
            "security": "starttls",
        },
    )
    caplog.set_level(logging.WARNING, logger="weakties")
    rig.run(config, until=timedelta(hours=2, minutes=30))
    assert rig.notifier.names() == [["Priya"]]  # the desktop channel told at once
    failures = [r.getMessage() for r in caplog.records if r.name == "weakties.digest"]
    # tried at 13:00 and 14:00 (an hour apart), not every 10 minutes
    assert (
        failures
        == [
            f"digest: SMTP server {HOST}:{port}: unreachable (Connection refused) "
            "(trying again in an hour)"
        ]
        * 2
    )
    assert rig.store.digest_sent() is None


# --- weakties digest --------------------------------------------------------------


def cli_env(tmp_path: Path, smtp: SmtpServer, **digest: Any) -> Env:
    return make_env(
        tmp_path, extra='[defaults]\ncadence = "30d"\n' + toml(digest_section(smtp, **digest))
    )


def add_overdue_cli(env: Env, name: str = "Priya", days: int = 40) -> None:
    assert env.run("contact", "add", name, "--email", f"{name.lower()}@example.org").exit_code == 0
    at = (datetime.now(UTC) - timedelta(days=days)).isoformat()
    assert env.run("touch", name, "--at", at).exit_code == 0


def test_digest_now_sends_and_works_with_every_off(tmp_path: Path, smtp: SmtpServer) -> None:
    env = cli_env(tmp_path, smtp, every="off")
    add_overdue_cli(env)
    result = env.run("digest", "--now")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"digest sent to {TO}: weakties: 1 overdue\n"
    [received] = smtp.received
    text, _ = parts(received.message)
    assert "- Priya: overdue by 10 days (last contact marked by hand, 40 days ago)" in text


def test_digest_now_with_nothing_to_say_sends_nothing(tmp_path: Path, smtp: SmtpServer) -> None:
    env = cli_env(tmp_path, smtp, every="off")
    add_overdue_cli(env, days=1)  # due in 29 days: not even coming this week
    result = env.run("digest", "--now")
    assert (result.exit_code, result.stdout) == (
        0,
        "Nothing to say: nobody overdue, no reply owed, nobody coming due.\n",
    )
    assert smtp.received == []
    status = env.run("digest")
    assert status.stdout == "digest: off; never sent\n"


def test_dry_run_prints_the_mail_and_sends_nothing(tmp_path: Path, smtp: SmtpServer) -> None:
    env = cli_env(tmp_path, smtp, password_command=["false"])  # no password needed to print
    add_overdue_cli(env)
    result = env.run("digest", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Auto-Submitted: auto-generated\n" in result.stdout
    assert f"To: {TO}\n" in result.stdout and "Subject: weakties: 1 overdue\n" in result.stdout
    assert "- Priya: overdue by 10 days" in result.stdout
    assert "Content-Type: text/html" in result.stdout
    assert smtp.received == []
    assert env.run("digest").stdout == "digest: 7d at Mon 08:00; never sent\n"


def test_wrong_smtp_password_is_one_line_without_it(tmp_path: Path, smtp: SmtpServer) -> None:
    wrong = "not-the-pw-77"
    env = cli_env(tmp_path, smtp, password_command=["printf", "%s", wrong])
    add_overdue_cli(env)
    result = env.run("digest", "--now")
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(
        f"weakties: error: digest: SMTP server {HOST}:{smtp.port}: login refused for alice (535"
    )
    assert wrong not in result.output and smtp.password not in result.output
    assert smtp.received == []


def test_unreachable_smtp_server_is_one_line(tmp_path: Path, smtp: SmtpServer) -> None:
    port = _free_ports(1)[0]
    env = cli_env(tmp_path, smtp, smtp_port=port)
    add_overdue_cli(env)
    result = env.run("digest", "--now")
    assert result.exit_code == 1
    assert result.stderr == (
        f"weakties: error: digest: SMTP server {HOST}:{port}: unreachable (Connection refused)\n"
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"smtp_host": None}, "digest.smtp_host: required"),
        ({"to": None}, 'digest.to: required when every = "7d"'),
        ({"to": "a@x, b@y"}, "digest.to: 'a@x, b@y' is not one email address"),
        ({"at": "Someday 08:00"}, "digest.at: at = 'Someday 08:00': unknown weekday"),
        ({"account": "nope"}, "digest.account: no account named 'nope'"),
    ],
)
def test_digest_config_errors_are_one_line_at_load(
    tmp_path: Path, smtp: SmtpServer, changes: dict[str, Any], expected: str
) -> None:
    env = cli_env(tmp_path, smtp, **changes)
    result = env.run("digest", "--now")
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert expected in line and "config.toml" in line, line


# --- the password, and a login reused from an IMAP account ------------------------


def test_auth_digest_checks_the_password_and_keeps_it_in_the_keyring(
    tmp_path: Path, smtp: SmtpServer, test_keyring: Path
) -> None:
    env = cli_env(tmp_path, smtp, password_command=None)
    add_overdue_cli(env)
    missing = env.run("digest", "--now")
    assert missing.exit_code == 1
    assert missing.stderr == (
        "weakties: error: digest: no SMTP password stored; run 'weakties auth --digest' "
        "or set password_command or password_file in [digest]\n"
    )
    refused = env.run("auth", "--digest", input="wrong-pw\n")
    assert refused.exit_code == 1 and "login refused for alice" in refused.stderr
    assert "wrong-pw" not in refused.output
    stored = env.run("auth", "--digest", input=f"{smtp.password}\n")
    assert stored.exit_code == 0, stored.output
    assert stored.stdout.endswith("digest: SMTP password checked and stored in the keyring\n")
    assert smtp.password not in stored.output
    sent = env.run("digest", "--now")
    assert sent.exit_code == 0, sent.output
    assert len(smtp.received) == 1
    both = env.run("auth", "mail", "--digest")
    assert both.exit_code == 2 and "name an ACCOUNT, or give --digest or --database" in both.output


def test_password_file_must_be_private(tmp_path: Path, smtp: SmtpServer) -> None:
    secret = tmp_path / "smtp-pw"
    secret.write_text(smtp.password + "\n")
    secret.chmod(0o644)
    env = cli_env(tmp_path, smtp, password_command=None, password_file=str(secret))
    add_overdue_cli(env)
    loose = env.run("digest", "--now")
    assert loose.exit_code == 1
    assert f"chmod 600 {secret}" in loose.stderr and smtp.password not in loose.output
    secret.chmod(0o600)
    assert env.run("digest", "--now").exit_code == 0
    assert len(smtp.received) == 1


def test_digest_reuses_an_imap_accounts_login(tmp_path: Path) -> None:
    with SmtpServer(username="me@example.com", password="imap-and-smtp-pw") as smtp:
        account = (
            '[[account]]\nname = "home"\ntype = "imap"\nhost = "imap.example.com"\n'
            f'username = "me@example.com"\nca_file = "{smtp.ca_file}"\n'
            'password_command = ["printf", "%s", "imap-and-smtp-pw"]\n'
        )
        section = {
            "every": "7d",
            "to": TO,
            "account": "home",
            "smtp_host": HOST,  # the test server; "smtp.example.com" otherwise
            "smtp_port": smtp.port,
            "security": "starttls",
        }
        env = make_env(tmp_path, account, extra='[defaults]\ncadence = "30d"\n' + toml(section))
        add_overdue_cli(env)
        result = env.run("digest", "--now")
        assert result.exit_code == 0, result.output
        assert len(smtp.received) == 1
        refused = env.run("auth", "--digest")
        assert refused.exit_code == 2 and "uses that account's password" in refused.stderr


def test_alerts_the_budget_held_are_told_by_the_digest_not_again_later(
    smtp: SmtpServer,
    store: Store,
    make_config: ConfigFactory,
    make_contact: ContactFactory,
    make_interactions: InteractionsFactory,
) -> None:
    from syncd import alerts
    from tests.test_daemon_inprocess import RecordingNotifier as Recorder

    config = make_config(notify={"backend": "log", "max_per_day": 1}, digest=digest_section(smtp))
    overdue(store, make_contact, make_interactions)
    recorder = Recorder(FakeClock())
    assert len(alerts.check(store, config, recorder, now=NOW, local_now=NOW).delivered) == 1
    make_contact(store, "Bob", cadence=30 * DAY, created=NOW - 400 * DAY)
    make_interactions(store, "bob@example.org", (Direction.SENT, NOW - 31 * DAY))
    later = NOW + timedelta(hours=2)
    held = alerts.check(store, config, recorder, now=later, local_now=later)
    assert held.channels[0].over_budget == 1 and held.delivered == []
    assert digest_send.send_digest(store, config, later).sent  # lists Priya and Bob
    tomorrow = NOW + DAY
    assert alerts.check(store, config, recorder, now=tomorrow, local_now=tomorrow).alerts == []
    assert recorder.names() == [["Priya"]]


def test_smtp_settings_follow_the_imap_accounts_host_pattern(tmp_path: Path) -> None:
    from syncd.config import load

    path = tmp_path / "config.toml"
    path.write_text(
        '[[account]]\nname = "home"\ntype = "imap"\nhost = "imap.example.com"\n'
        'username = "me@example.com"\nca_file = "/etc/my-ca.pem"\n'
        '[digest]\nevery = "1d"\nat = "07:30"\nto = "me@example.com"\naccount = "home"\n'
    )
    settings = digest_send.smtp_settings(load(path))
    assert (settings.host, settings.port, settings.security) == ("smtp.example.com", 465, "tls")
    assert (settings.username, str(settings.ca_file)) == ("me@example.com", "/etc/my-ca.pem")
