"""The in-memory connector's own knobs, beyond the contract suite (tests/contract/):
injected failures, a changed UIDVALIDITY, configured folders, folded headers."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.base import AuthError, ConnectError, ConnectorError
from connectors.memory import MemoryMailbox, MemorySettings, connect, header_fields
from tests.helpers import day, message, one_pass

ME = "me@example.com"


def filled(count: int = 5) -> MemoryMailbox:
    box = MemoryMailbox()
    for n in range(count):
        box.deliver(message(f"p{n}@example.org", ME, message_id=f"<m{n}@x>"), "INBOX", day(1))
    return box


def test_an_injected_connect_failure_happens_the_given_number_of_times() -> None:
    box = filled()
    box.fail_connect(AuthError("wrong password"), times=2)
    for _ in range(2):
        with pytest.raises(AuthError, match="wrong password"):
            connect(box)
    with connect(box) as connector:
        assert len(one_pass(connector, {})) == 5
    assert box.connects == 3


def test_a_failure_after_a_batch_keeps_that_batch_and_its_state() -> None:
    box = filled(5)
    box.fail_after(1, ConnectError("connection reset"))
    state: dict[str, dict[str, Any]] = {}
    got = []
    with (
        connect(box, MemorySettings(batch_size=2)) as connector,
        pytest.raises(ConnectError, match="connection reset"),
    ):
        for batch in connector.batches(state):
            got += batch.records
            state.update(batch.state)
    assert len(got) == 2 and state["INBOX"]["last_uid"] == 2
    with connect(box, MemorySettings(batch_size=2)) as connector:
        assert len(one_pass(connector, state)) == 3  # resumed, the failure used up


def test_a_new_uidvalidity_reads_the_folder_again() -> None:
    box = filled(3)
    state: dict[str, dict[str, Any]] = {}
    with connect(box) as connector:
        assert len(one_pass(connector, state)) == 3
        assert one_pass(connector, state) == []
        box.renumber("INBOX")
        assert len(one_pass(connector, state)) == 3


def test_configured_folders_are_read_even_drafts_and_unknown_ones_are_an_error() -> None:
    box = filled(1)
    box.deliver(message(ME, "x@example.org", message_id="<d@x>"), "Drafts", day(2))
    with connect(box, MemorySettings(folders=["Drafts"])) as connector:
        [record] = one_pass(connector, {})
        assert record.folder == "Drafts" and not record.role.counts
    with (
        connect(box, MemorySettings(folders=["Nope"])) as connector,
        pytest.raises(ConnectorError, match="no folder named 'Nope'"),
    ):
        one_pass(connector, {})


def test_a_closed_connector_refuses_to_read() -> None:
    connector = connect(filled(1))
    connector.close()
    with pytest.raises(ConnectError):
        one_pass(connector, {})


def test_only_header_fields_survive_folded_lines_included() -> None:
    raw = (
        b"From: a@example.org\r\nX-Secret: one\r\n two\r\nSubject: long\r\n folded\r\n"
        b"Received: by mx\r\n\r\nBODY"
    )
    assert header_fields(raw) == b"From: a@example.org\r\nSubject: long\r\n folded\r\n\r\n"


def test_settings_refuse_an_empty_batch() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        MemorySettings(batch_size=0)
