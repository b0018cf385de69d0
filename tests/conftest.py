"""Shared pytest fixtures: the servers the suite starts, and the factories tests build with."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import keyring
import pytest

from syncd.store import Store
from tests import factories
from tests.caldav_servers import DavServer, DavUser, start_radicale, start_xandikos
from tests.clock import FakeClock
from tests.dbus_services import NotificationServer
from tests.dbus_session import SessionBus
from tests.dovecot import Dovecot, ImapUser, start_dovecot
from tests.keyring_backend import FileKeyringForTests

# --- factories ---------------------------------------------------------------
# Build configs, databases, contacts and their history the same way in every
# test (tests/factories.py). Each fixture is the factory itself: call it.


@pytest.fixture
def make_config() -> factories.ConfigFactory:
    """``make_config(notify={...}, accounts=[...])``: a validated Config."""
    return factories.ConfigFactory()


@pytest.fixture
def make_store(tmp_path: Path) -> Iterator[factories.StoreFactory]:
    """``make_store()``: a fresh, migrated SQLite database, closed after the test."""
    stores = factories.StoreFactory(tmp_path)
    yield stores
    stores.close_all()


@pytest.fixture
def store(make_store: factories.StoreFactory) -> Store:
    """One fresh database, for tests that need just one."""
    return make_store()


@pytest.fixture
def make_contact() -> factories.ContactFactory:
    """``make_contact(store, "Priya", cadence=..., created=...)``: a tracked contact's facts."""
    return factories.ContactFactory()


@pytest.fixture
def make_interactions() -> factories.InteractionsFactory:
    """``make_interactions(store, address, (Direction.SENT, at), ...)``: stored history."""
    return factories.InteractionsFactory()


@pytest.fixture
def make_facts() -> factories.FactsFactory:
    """``make_facts(sent=..., received=...)``: ContactFacts without a store."""
    return factories.FactsFactory()


@pytest.fixture
def clock() -> FakeClock:
    """A clock that moves only when waited on (tests/clock.py), at factories.NOW."""
    return FakeClock()


# --- Dovecot ---------------------------------------------------------------
# One real Dovecot IMAP server (tests/dovecot.py) for the whole session; each
# test that needs a mailbox gets its own fresh user on it.


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A running throwaway Dovecot on 127.0.0.1, stopped at the end of the session."""
    with start_dovecot() as server:
        yield server


@pytest.fixture
def imap_user(dovecot: Dovecot) -> ImapUser:
    """A fresh, empty account ``user{n}@example.com`` with a random password."""
    return dovecot.new_user()


# --- secrets and OAuth -------------------------------------------------------


@pytest.fixture
def test_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The file-backed test keyring (tests/keyring_backend.py); yields its file."""
    path = tmp_path / "keyring.json"
    monkeypatch.setenv("WEAKTIES_TEST_KEYRING", str(path))
    previous = keyring.get_keyring()
    keyring.set_keyring(FileKeyringForTests())  # type: ignore[no-untyped-call]
    yield path
    keyring.set_keyring(previous)


@pytest.fixture
def consenting_browser(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A user at a browser who opens Google's consent URL and clicks "Allow"
    (the Gmail stand-in redirects to weakties' loopback listener). Yields the
    URLs opened."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the stand-in speaks plain http
    opened: list[str] = []

    class Browser:
        def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
            opened.append(url)
            threading.Thread(
                target=lambda: urllib.request.urlopen(url, timeout=10).read(), daemon=True
            ).start()
            return True

    monkeypatch.setattr("webbrowser.get", lambda using=None: Browser())
    return opened


# --- CalDAV ------------------------------------------------------------------
# Radicale and Xandikos (tests/caldav_servers.py), each once per session; each
# test gets a fresh user with an empty calendar home.


@pytest.fixture(scope="session")
def radicale_server() -> Iterator[DavServer]:
    """A running Radicale, stopped at the end of the session."""
    with start_radicale() as server:
        yield server


@pytest.fixture(scope="session")
def xandikos_server() -> Iterator[DavServer]:
    """A running Xandikos (behind its TLS + Basic proxy), stopped at the end of the session."""
    with start_xandikos() as server:
        yield server


@pytest.fixture(scope="session", params=["radicale", "xandikos"])
def dav_server(request: pytest.FixtureRequest) -> DavServer:
    """Radicale, then Xandikos: the same processes as ``radicale_server`` and
    ``xandikos_server`` (the connector contract uses those by name)."""
    return cast(DavServer, request.getfixturevalue(f"{request.param}_server"))


@pytest.fixture
def dav_user(dav_server: DavServer) -> DavUser:
    return dav_server.new_user()


# --- PostgreSQL --------------------------------------------------------------
# One real PostgreSQL server (tests/postgres.py) for the whole session; each
# test that needs a database gets its own fresh, empty one. ``store_url`` runs
# a test on SQLite and on PostgreSQL.
@pytest.fixture
def bus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SessionBus]:
    """A private session bus on the real dbus-daemon, in ``$DBUS_SESSION_BUS_ADDRESS``."""
    session = SessionBus(tmp_path).start()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", session.address)
    yield session
    session.stop()


@pytest.fixture
def notification_server(bus: SessionBus) -> Iterator[NotificationServer]:
    """A freedesktop notification server on that bus, with bodies, markup and actions."""
    server = NotificationServer(bus, ["body", "body-markup", "actions"])
    yield server
    server.stop()


from tests.postgres import postgres, postgres_url, store_url  # noqa: E402

__all__ = ["postgres", "postgres_url", "store_url"]
