"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.dovecot import Dovecot, ImapUser, start_dovecot

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
