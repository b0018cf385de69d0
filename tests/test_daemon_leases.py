"""The daemon's leases in-process, on a fake clock (``tests/test_daemon_inprocess.py``'s
rig): an account whose lease another daemon holds is not polled until that lease
expires, then taken over within two poll intervals; a lease taken over mid-poll
ends that poll after its stored batches; a stopping daemon gives its leases back."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from syncd.daemon import LEASE_INTERVALS
from tests.factories import NOW, ConfigFactory, memory_account
from tests.helpers import message
from tests.test_daemon_inprocess import Rig, rig

__all__ = ["rig"]  # the fixture, shared with tests/test_daemon_inprocess.py

MIN, SECOND = timedelta(minutes=1), timedelta(seconds=1)


def test_an_account_leased_elsewhere_is_taken_over_when_the_lease_expires(
    rig: Rig, make_config: ConfigFactory
) -> None:
    config = make_config(
        daemon={"poll_interval": "1min"}, accounts=[memory_account("a"), memory_account("b")]
    )
    ttl = MIN * LEASE_INTERVALS
    assert rig.store.acquire_lease("a", "elsewhere:1", ttl, NOW)  # then it dies
    for n in range(3):
        rig.deliver("a", f"p{n} <p{n}@example.org>", n * MIN)
    daemon = rig.run(config, until=5 * MIN)
    first = rig.polled("a")[0]
    assert ttl <= first <= 2 * MIN  # not before the lease expired, within two intervals
    assert [at - first for at in rig.polled("a")[1:]] == [MIN, 2 * MIN, 3 * MIN]
    assert rig.polled("b")[0] == 5 * SECOND  # the free account from the start
    assert rig.store.counts()["interactions"] == 3  # all of a's mail came in
    assert rig.store.leases() == []  # released on stop
    assert daemon.held == {}


def test_a_lease_taken_over_mid_poll_ends_the_poll_after_whole_batches(
    rig: Rig, make_config: ConfigFactory
) -> None:
    config = make_config(daemon={"poll_interval": "1min"}, accounts=[memory_account("a")])
    size = config.accounts[0].settings.batch_size
    for n in range(3 * size):  # three batches
        at = NOW - timedelta(days=1) + n * SECOND
        raw = message(f"p{n} <p{n}@example.org>", "me@example.com", date=at, message_id=f"<{n}@x>")
        rig.mailbox("a").deliver(raw, "INBOX", at)
    daemon = rig.daemon(config)
    stolen: list[int] = []

    def steal(count: int) -> None:  # once the first batch is stored, another daemon takes over
        if count > 1 and not stolen:
            stolen.append(count)
            with rig.store.engine.begin() as conn:
                conn.execute(text("UPDATE account_leases SET holder = 'thief:2'"))
            rig.clock.advance(MIN)  # the renewal falls due before the next record

    rig.mailbox("a").on_batch = steal
    rig.clock.at(30 * SECOND, daemon.stop.set)
    daemon.run_forever()
    assert stolen == [2]
    assert rig.store.counts()["interactions"] == size  # the stored batch, nothing after
    assert rig.polled("a") == [timedelta(0)]
    [lease] = rig.store.leases()
    assert lease.holder == "thief:2"  # not released: it is not ours any more
    assert daemon.held == {}
