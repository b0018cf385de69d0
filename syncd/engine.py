"""One sync pass over the accounts: connector -> rules -> store.

The engine knows nothing of IMAP or Gmail: it opens each account's connector
through ``syncd.accounts``, runs every record through the rules, and stores
each batch with the connector's state in one transaction. A calendar batch
(events, removed resources) goes to the store's ``save_calendar_batch``, and
after a calendar account's pass ``refresh_calendar`` evaluates again what
needs it (docs/calendar-design.md). One account failing
(wrong password, host down) is reported and the others still sync; batches
stored before a failure stay stored, and the next pass resumes after them.

A message the rules cannot read (they never raise by design; this is the net
under them) is skipped, logged with its folder and UID and counted, and its
batch and cursor are still stored: one message never stops an account.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, TypedDict

from connectors.base import Connector, ConnectorError
from syncd.accounts import entry, open_connector
from syncd.clock import SYSTEM, Clock
from syncd.config import Account, Config
from syncd.model import Interaction
from syncd.rules import identities, interactions
from syncd.store import Store

log = logging.getLogger("weakties.engine")


#: Called after each stored batch: (account name, messages so far, expected total or None).
Progress = Callable[[str, int, int | None], None]


class _Rules(TypedDict):
    """What a calendar's meetings are evaluated with (the store's keyword arguments)."""

    me: frozenset[str]
    tz: tzinfo
    max_participants: int
    keep_subjects: bool


@dataclass
class AccountResult:
    account: str
    scanned: int = 0  # messages read from the source this pass
    new: int = 0  # interactions not recorded before
    skipped: int = 0  # messages the rules could not read (logged with folder and UID)
    error: str | None = None
    calendar: bool = False  # a calendar source: events and meetings, not messages
    events: int = 0  # calendar resources read (new or changed) this pass
    meetings_new: int = 0  # meetings that count now and did not before this pass

    @property
    def ok(self) -> bool:
        return self.error is None

    def summary(self) -> str:
        """The one line ``sync``, ``init`` and the daemon print for this account."""
        if not self.ok:
            return f"weakties: error: {self.account}: {self.error}"
        if self.calendar:
            return f"{self.account}: {self.events:,} events, {self.meetings_new:,} meetings new"
        skipped = f", {self.skipped} skipped" if self.skipped else ""
        return (
            f"{self.account}: {self.scanned} messages scanned, {self.new} new interactions{skipped}"
        )


def sync_account(
    store: Store,
    config: Config,
    account: Account[Any],
    progress: Progress | None = None,
    *,
    connect: Callable[[Account[Any]], Connector] | None = None,
    clock: Clock = SYSTEM,
    tick: Callable[[], None] | None = None,
) -> AccountResult:
    """Sync one account; never raises for a connector failure (see ``error``).

    ``connect`` opens the account (default: its type's, ``syncd.accounts``);
    ``clock`` dates the stored batches; ``tick`` is called before each record
    goes through the rules (the daemon feeds systemd's watchdog with it, so a
    long batch never looks like a hang).
    """
    result = AccountResult(account.name, calendar=entry(account).source == "calendar")
    me = identities(config.my_addresses())
    keep_subjects = config.privacy.store_subjects
    rules: _Rules = {
        "me": me,
        "tz": config.calendar.zone,
        "max_participants": config.calendar.max_participants,
        "keep_subjects": keep_subjects,
    }
    touched: set[str] = set()
    try:
        with (connect or open_connector)(account) as connector:
            for batch in connector.batches(store.load_state(account.name)):
                if result.calendar or batch.events or batch.removed:
                    result.calendar = True
                    if tick is not None:
                        tick()
                    saved = store.save_calendar_batch(account.name, batch, **rules, now=clock.now())
                    result.events += saved.events
                    result.meetings_new += saved.new
                    touched |= saved.hrefs
                    if progress:
                        progress(account.name, result.events, batch.expected_total)
                    continue
                found: list[Interaction] = []
                for record in batch.records:
                    if tick is not None:
                        tick()
                    try:
                        found.extend(interactions(record, me, keep_subjects=keep_subjects))
                    except Exception as exc:  # the net under the rules: skip, never stop
                        result.skipped += 1
                        log.info(
                            "account %s: skipped a message the rules could not read "
                            "(folder %r, UID %s): %s",
                            account.name,
                            record.folder,
                            record.uid or "?",
                            type(exc).__name__,
                        )
                result.new += store.save_batch(account.name, found, batch.state, clock.now())
                result.scanned += len(batch.records)
                if progress:
                    progress(account.name, result.scanned, batch.expected_total)
        store.record_poll(account.name, clock.now(), result.new)  # even when nothing was new
    except ConnectorError as exc:
        result.error = str(exc)
        log.info("account %s failed: %s", account.name, exc)
    if result.calendar:  # local only: runs after a failed pass too
        refreshed = store.refresh_calendar(account.name, **rules, now=clock.now(), touched=touched)
        result.meetings_new += refreshed.new
    return result


def sync_all(
    store: Store,
    config: Config,
    only: str | None = None,
    progress: Progress | None = None,
    *,
    connect: Callable[[Account[Any]], Connector] | None = None,
    clock: Clock = SYSTEM,
) -> list[AccountResult]:
    """One pass over every account (or just ``only``)."""
    accounts = [config.account(only)] if only else config.accounts
    return [
        sync_account(store, config, account, progress, connect=connect, clock=clock)
        for account in accounts
    ]
