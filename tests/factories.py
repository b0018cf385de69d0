"""The factories behind the fixtures in ``tests/conftest.py`` (``make_config``,
``make_store``, ``make_contact``, ``make_interactions``, ``make_facts``):
one way to build a config, a database, contacts and their
history, so test files do not each grow their own builders.

Everything is dated against :data:`NOW` (the fake clock's start,
``tests/clock.py``) unless told otherwise.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.memory import MemorySettings
from syncd.config import Account, Config, parse
from syncd.model import ContactFacts, Direction, Interaction
from syncd.store import Store, open_store
from tests.clock import START

NOW = START
DAY = timedelta(days=1)
ME = "me@example.com"


class ConfigFactory:
    def __call__(self, *, accounts: Sequence[Account] = (), **sections: Any) -> Config:
        """A validated config from TOML-shaped sections (``notify={"quiet_hours": ...}``).

        ``accounts`` are taken as built (e.g. :func:`memory_account`, which the
        user-facing registry does not know); ``[defaults] cadence`` is 90 days
        unless given.
        """
        data = {"defaults": {"cadence": "90d"}, **sections}
        config = parse(data, Path("test.toml"))
        if not accounts:
            return config
        return dataclasses.replace(config, accounts=[*config.accounts, *accounts])


def memory_account(name: str = "mail", **settings: Any) -> Account:
    """An account read by the in-memory connector (``connectors/memory.py``)."""
    return Account(
        name=name, type="memory", settings=MemorySettings(**{"username": ME, **settings})
    )


class StoreFactory:
    """Fresh SQLite databases under one directory, all closed by :meth:`close_all`."""

    def __init__(self, root: Path) -> None:
        self.root, self.opened = root, list[Store]()

    def __call__(self, name: str = "weakties") -> Store:
        (self.root / "db").mkdir(mode=0o700, exist_ok=True)
        store = open_store(f"sqlite:///{self.root / 'db' / name}.db")
        self.opened.append(store)
        return store

    def close_all(self) -> None:
        for store in self.opened:
            store.close()


class ContactFactory:
    def __call__(
        self,
        store: Store,
        name: str = "Priya",
        *emails: str,
        cadence: timedelta | None = None,
        tags: Sequence[str] = (),
        created: datetime = NOW,
    ) -> ContactFacts:
        """Track a contact (its address ``<name>@example.org`` unless given); its facts."""
        store.add_contact(name, emails or [f"{name.lower()}@example.org"], cadence, tags, created)
        [facts] = store.contacts([name])
        return facts


class InteractionsFactory:
    def __init__(self) -> None:
        self._keys = itertools.count(1)

    def __call__(
        self,
        store: Store,
        address: str,
        *moments: tuple[Direction, datetime],
        account: str = "mail",
        subject: str | None = None,
        name: str = "",
    ) -> int:
        """Store one message per (direction, when) with ``address``, in one batch;
        how many were new."""
        found = []
        for direction, at in moments:
            key = f"<k{next(self._keys)}@test>"
            found.append(
                Interaction(
                    address=address,
                    name=name,
                    direction=direction,
                    at=at,
                    dedupe_key=f"mid:{key}",
                    message_id=key,
                    subject=subject,
                    folder="Sent" if direction == Direction.SENT else "INBOX",
                )
            )
        return store.save_batch(account, found, {}, NOW)


class FactsFactory:
    def __call__(
        self,
        name: str = "Priya",
        id: int = 1,
        *,
        cadence: timedelta | None = None,
        tags: Sequence[str] = (),
        snoozed_until: datetime | None = None,
        created: datetime = NOW - 400 * DAY,
        sent: datetime | None = None,
        received: datetime | None = None,
        touch: datetime | None = None,
        met: datetime | None = None,
    ) -> ContactFacts:
        """A contact's facts as the store would report them, without a store (pure layers)."""
        return ContactFacts(
            id=id,
            name=name,
            emails=[f"{name.lower()}@example.org"],
            cadence=cadence,
            tags=list(tags),
            snoozed_until=snoozed_until,
            created_at=created,
            last_sent=sent,
            last_received=received,
            last_touch=touch,
            last_met=met,
        )
