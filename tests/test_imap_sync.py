"""End to end on a real Dovecot: messages APPENDed over IMAP, the real CLI syncing them."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from connectors import imap
from connectors.base import FolderRole
from tests.dovecot import Dovecot, ImapUser
from tests.helpers import Env, day, imap_account, make_env, message

ME = "me@example.com"


@pytest.fixture
def env(tmp_path: Path, dovecot: Dovecot, imap_user: ImapUser) -> Env:
    return make_env(tmp_path, imap_account(dovecot, imap_user), identity=(ME, "alias@example.com"))


def status_of(env: Env, name: str) -> dict:
    [row] = [r for r in env.json("status") if r["name"] == name]
    return row


def sync(env: Env) -> str:
    result = env.run("sync", "--once")
    assert result.exit_code == 0, result.output
    return result.stdout


def test_sent_and_received_with_dedupe_across_folders(
    env: Env, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    u = imap_user.username
    dovecot.append(
        u,
        "INBOX",
        message(
            "=?UTF-8?Q?Priya_P=C3=A4tel?= <PRIYA@Example.org>",
            ME,
            date=day(1),
            message_id="<r1@example.org>",
            cc="carol@example.net",
        ),
        day(1),
    )
    sent = message(
        f"Me <{ME}>",
        "priya@example.org",
        cc="Dan <dan@example.net>",
        bcc="erin@example.net",
        date=day(5),
        message_id="<s1@example.com>",
    )
    dovecot.append(u, "Sent", sent, day(5))
    dovecot.append(u, "Archive", sent, day(5))  # the same message archived: counts once
    out = sync(env)
    assert "3 messages scanned, 4 new interactions" in out  # priya in, priya/dan/erin out

    env.run("contact", "add", "Priya", "--email", "priya@example.org", "--cadence", "30d")
    env.run("contact", "add", "Carol", "--email", "carol@example.net")
    env.run("contact", "add", "Erin", "--email", "erin@example.net")
    priya = status_of(env, "Priya")
    assert priya["last_received"] == "2025-03-01T12:00:00+00:00"
    assert priya["last_sent"] == priya["last_contact"] == "2025-03-05T12:00:00+00:00"
    assert priya["due"] == "2025-04-04T12:00:00+00:00" and priya["overdue"] is True
    assert status_of(env, "Carol")["last_contact"] is None  # Cc-only on a received message
    assert status_of(env, "Erin")["last_sent"] == "2025-03-05T12:00:00+00:00"  # Bcc in Sent

    shown = env.json("contact", "show", "Priya")
    assert [(i["direction"], i["message_id"]) for i in shown["interactions"]] == [
        ("sent", "<s1@example.com>"),
        ("received", "<r1@example.org>"),
    ]
    assert shown["interactions"][1]["folder"] == "INBOX"
    assert shown["interactions"][0]["account"] == "mail"


def test_drafts_junk_trash_and_bulk_never_count(
    env: Env, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    u = imap_user.username
    dovecot.append(u, "INBOX", message("bob@example.org", ME, date=day(1), message_id="<a@x>"))
    for folder, n in (("Drafts", 10), ("Trash", 11), ("Junk", 12)):
        dovecot.append(
            u, folder, message("bob@example.org", ME, date=day(n), message_id=f"<{folder}@x>")
        )
    dovecot.append(u, "Drafts", message(ME, "bob@example.org", date=day(13)))
    dovecot.append(
        u,
        "INBOX",
        message(
            "bob@example.org",
            ME,
            date=day(14),
            message_id="<l@x>",
            extra="List-Id: <team.example.org>",
        ),
    )
    dovecot.append(
        u,
        "INBOX",
        message(
            "bob@example.org",
            ME,
            date=day(15),
            message_id="<v@x>",
            extra="Auto-Submitted: auto-replied",
        ),
    )
    sync(env)
    env.run("contact", "add", "Bob", "--email", "bob@example.org")
    assert status_of(env, "Bob")["last_contact"] == "2025-03-01T12:00:00+00:00"


def test_addresses_match_however_written(env: Env, dovecot: Dovecot, imap_user: ImapUser) -> None:
    u = imap_user.username
    dovecot.append(
        u,
        "INBOX",
        message("Ann <Ann.Lee+work@GoogleMail.com>", ME, date=day(2), message_id="<1@x>"),
    )
    dovecot.append(
        u,
        "Sent",
        message(
            "alias@example.com",
            "annlee@gmail.com, undisclosed-recipients:;",
            date=day(3),
            message_id="<2@x>",
        ),
    )
    dovecot.append(
        u, "INBOX", message("Ann <ann@work.example>", ME, date=day(4), message_id="<3@x>")
    )
    sync(env)
    env.run(
        "contact", "add", "Ann", "--email", "a.n.n.lee@gmail.com", "--email", "ANN@work.example"
    )
    ann = status_of(env, "Ann")
    assert ann["last_received"] == "2025-03-04T12:00:00+00:00"
    assert ann["last_sent"] == "2025-03-03T12:00:00+00:00"
    assert len(env.json("contact", "show", "Ann")["interactions"]) == 3


def test_dates_missing_bogus_and_no_message_id(
    env: Env, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    u = imap_user.username
    dovecot.append(u, "INBOX", message("a@example.org", ME, date=None), day(7))
    dovecot.append(u, "INBOX", message("b@example.org", ME, date="not a date"), day(8))
    dovecot.append(
        u, "INBOX", message("c@example.org", ME, date=day(28) + timedelta(days=900)), day(9)
    )
    no_id = message("d@example.org", ME, date=day(10), subject="no id")
    dovecot.append(u, "INBOX", no_id, day(10))
    dovecot.append(u, "Archive", no_id, day(11))  # same From+Date+Subject: counts once
    raw8 = message("Zoë <e@example.org>", ME, date=day(12), subject="Grüße", message_id="<8@x>")
    dovecot.append(u, "INBOX", raw8, day(12))
    assert "6 messages scanned, 5 new interactions" in sync(env)
    for name, email, at in (
        ("A", "a@example.org", "2025-03-07"),
        ("B", "b@example.org", "2025-03-08"),
        ("C", "c@example.org", "2025-03-09"),
        ("D", "d@example.org", "2025-03-10"),
    ):
        env.run("contact", "add", name, "--email", email)
        assert status_of(env, name)["last_received"] == f"{at}T12:00:00+00:00"
    env.run("contact", "add", "E", "--email", "e@example.org")
    assert env.json("contact", "show", "E")["interactions"][0]["subject"] == "Grüße"


def test_incremental_sync_and_uidvalidity_change(
    env: Env, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    u = imap_user.username
    dovecot.append(u, "INBOX", message("a@example.org", ME, date=day(1), message_id="<1@x>"))
    assert "1 messages scanned, 1 new" in sync(env)
    assert "0 messages scanned, 0 new" in sync(env)
    dovecot.append(u, "INBOX", message("b@example.org", ME, date=day(2), message_id="<2@x>"))
    assert "1 messages scanned, 1 new" in sync(env)
    dovecot.change_uidvalidity(u, "INBOX")
    assert "2 messages scanned, 0 new" in sync(env)  # re-read, nothing double counted
    assert "0 messages scanned, 0 new" in sync(env)


def test_a_poll_with_nothing_new_selects_and_fetches_nothing(
    dovecot: Dovecot, imap_user: ImapUser
) -> None:
    u = imap_user.username
    dovecot.append(u, "INBOX", message("a@example.org", ME, date=day(1), message_id="<1@x>"))
    settings = imap.ImapSettings(
        host=dovecot.host, port=dovecot.tls_port, username=u, ca_file=str(dovecot.ca_file)
    )
    calls: list[str] = []
    with imap.connect(settings, imap_user.password) as conn:
        real = conn.client._imap._command  # every command imapclient or the connector sends

        def command(name: str, *args: object) -> object:
            calls.append(f"{name} {args[0]}" if name == "UID" else name)
            return real(name, *args)

        conn.client._imap._command = command
        state: dict = {}
        for batch in conn.batches(state):
            state.update(batch.state)
        assert "EXAMINE" in calls and "UID FETCH" in calls
        calls.clear()
        assert list(conn.batches(state)) == []
        assert set(calls) == {"LIST", "STATUS"}  # no SELECT/EXAMINE, no FETCH


def test_folder_roles_and_gmail_all_mail() -> None:
    listing = [
        ((b"\\HasNoChildren",), b"/", "INBOX"),
        ((b"\\Sent",), b"/", "Gesendet"),
        ((b"\\Drafts",), b"/", "Entw"),
        ((), b"/", "Junk"),
        ((), b".", "Old.Trash"),
        ((b"\\Noselect",), b"/", "[Gmail]"),
        ((), b"/", "Projects"),
    ]
    chosen = imap.choose_folders(listing, None)
    assert [(f.name, f.role) for f in chosen] == [
        ("INBOX", FolderRole.NORMAL),
        ("Gesendet", FolderRole.SENT),
        ("Projects", FolderRole.NORMAL),
    ]
    gmail = [*listing, ((b"\\All", b"\\HasNoChildren"), b"/", "[Gmail]/All Mail")]
    [all_mail] = imap.choose_folders(gmail, None)
    assert all_mail.name == "[Gmail]/All Mail" and all_mail.gmail_all
    assert [f.role for f in imap.choose_folders(listing, ["Entw", "INBOX"])] == [
        FolderRole.DRAFTS,
        FolderRole.NORMAL,
    ]
    assert imap._labels_role([b"\\Inbox", b"\\Sent"]) is FolderRole.SENT
    assert imap._labels_role(["\\Sent", "\\Draft"]) is FolderRole.DRAFTS


def test_configured_folders(tmp_path: Path, dovecot: Dovecot, imap_user: ImapUser) -> None:
    u = imap_user.username
    dovecot.append(u, "INBOX", message("a@example.org", ME, date=day(1), message_id="<1@x>"))
    dovecot.append(u, "Archive", message("b@example.org", ME, date=day(1), message_id="<2@x>"))
    env = make_env(tmp_path, imap_account(dovecot, imap_user, folders=["Archive"]), identity=(ME,))
    assert "1 messages scanned, 1 new" in sync(env)
    bad = make_env(tmp_path, imap_account(dovecot, imap_user, folders=["Nope"]), identity=(ME,))
    result = bad.run("sync", "--once")
    assert result.exit_code == 1 and "no folder named 'Nope'" in result.stderr


def test_starttls_and_explicit_plaintext(
    tmp_path: Path, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    dovecot.append(imap_user.username, "INBOX", message("a@example.org", ME, date=day(1)))
    starttls = make_env(
        tmp_path, imap_account(dovecot, imap_user, port=dovecot.plain_port, security="starttls")
    )
    assert "1 messages scanned" in sync(starttls)
    (tmp_path / "p").mkdir()
    plain = make_env(
        tmp_path / "p",
        imap_account(
            dovecot, imap_user, port=dovecot.plain_port, security="plain", allow_insecure=True
        ),
    )
    assert "1 messages scanned" in sync(plain)


# --- bad input: one clear line, non-zero exit, nothing written -----------------


def db_digest(env: Env) -> str:
    return hashlib.sha256(env.db.read_bytes()).hexdigest() if env.db.exists() else "none"


@pytest.fixture
def synced(tmp_path: Path, dovecot: Dovecot, imap_user: ImapUser) -> Env:
    """An account with one message synced, so 'unchanged' means something."""
    dovecot.append(
        imap_user.username, "INBOX", message("a@example.org", ME, date=day(1), message_id="<1@x>")
    )
    env = make_env(tmp_path, imap_account(dovecot, imap_user), identity=(ME,))
    sync(env)
    env.run("contact", "add", "A", "--email", "a@example.org")
    dovecot.append(
        imap_user.username, "INBOX", message("a@example.org", ME, date=day(2), message_id="<2@x>")
    )
    return env


def unique_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "change, code, expected",
    [
        ({"password": "wrong"}, 1, "login failed for user"),
        ({"port": "closed"}, 1, "cannot connect"),
        ({"ca_file": None}, 1, "certificate not trusted"),
        ({"ca_file": "wrong"}, 1, "certificate not trusted"),
        ({"host": "localhost.invalid"}, 1, "cannot connect"),
        ({"security": "plain"}, 2, "would send the password unencrypted"),
        ({"typo": True}, 2, "unknown key"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    synced: Env, dovecot: Dovecot, imap_user: ImapUser, change: dict, code: int, expected: str
) -> None:
    before = db_digest(synced)
    last = status_of(synced, "A")["last_contact"]
    if change.get("port") == "closed":
        change = {"port": unique_port()}
    if change.get("ca_file") == "wrong":
        change = {"ca_file": str(dovecot.wrong_ca_file)}
    if "security" in change:
        change["port"] = dovecot.plain_port
    synced.config.write_text(
        synced.config.read_text().split("[[account]]")[0]
        + imap_account(dovecot, imap_user, **change)
    )
    result = synced.run("sync", "--once")
    assert result.exit_code == code
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in result.output
    assert imap_user.password not in result.output
    assert db_digest(synced) == before
    synced.config.write_text(
        synced.config.read_text().split("[[account]]")[0] + imap_account(dovecot, imap_user)
    )
    assert status_of(synced, "A")["last_contact"] == last


def test_broken_toml(synced: Env) -> None:
    before = db_digest(synced)
    synced.config.write_text(synced.config.read_text() + "\n[[account]\n")
    result = synced.run("sync", "--once")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"weakties: error: {synced.config}: invalid TOML")
    assert len(result.stderr.strip().splitlines()) == 1
    assert db_digest(synced) == before


def test_one_failing_account_does_not_stop_the_others(
    tmp_path: Path, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    other = dovecot.new_user()
    dovecot.append(other.username, "INBOX", message("z@example.org", ME, date=day(3)))
    env = make_env(
        tmp_path,
        imap_account(dovecot, imap_user, "broken", password="nope"),
        imap_account(dovecot, other, "good"),
        identity=(ME,),
    )
    result = env.run("sync", "--once")
    assert result.exit_code == 1
    assert "good: 1 messages scanned, 1 new interactions" in result.stdout
    assert "broken:" in result.stderr and "login failed" in result.stderr
    only = env.run("sync", "--once", "--account", "good")
    assert only.exit_code == 0 and "broken" not in only.output
    unknown = env.run("sync", "--once", "--account", "nosuch")
    assert unknown.exit_code == 2 and "no account named 'nosuch'" in unknown.stderr


def test_a_sync_that_finds_nothing_loads_no_sqlalchemy(
    env: Env, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    """Issue 12: a cron-style pass with nothing new writes its poll through the
    stdlib connection; the next pass that finds mail reads what it wrote."""
    u = imap_user.username
    dovecot.append(u, "INBOX", message("a@example.org", ME, date=day(1), message_id="<1@x>"))
    assert "1 messages scanned, 1 new" in sync(env)
    code = (
        "import sys\n"
        "from syncd.cli import main\n"
        f"try: main(['--config', {str(env.config)!r}, 'sync'])\n"
        "except SystemExit as exc: assert not exc.code, exc.code\n"
        "print('sqlalchemy' in sys.modules, 'alembic' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "WEAKTIES_DB": f"sqlite:///{env.db}"},
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "mail: 0 messages scanned, 0 new interactions",
        "False False",
    ]
    status = env.run("service", "status").stdout
    assert "last successful poll" in status
    dovecot.append(u, "INBOX", message("b@example.org", ME, date=day(2), message_id="<2@x>"))
    assert "1 messages scanned, 1 new" in sync(env)  # resumes from the stored cursor
