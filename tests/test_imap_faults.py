"""A server that drops the connection mid-sync: what was stored stays, nothing doubles."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors import imap
from tests.dovecot import Dovecot, ImapUser
from tests.helpers import day, imap_account, make_env, message


class CuttingProxy:
    """Forwards 127.0.0.1:port to the server, and cuts the line after ``limit`` bytes
    have come back from the server."""

    def __init__(self, target: int, limit: int) -> None:
        self.target, self.limit = target, limit
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pump, args=(client, server, None), daemon=True).start()
            threading.Thread(
                target=self._pump, args=(server, client, self.limit), daemon=True
            ).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while data := src.recv(4096):
                dst.sendall(data)
                sent += len(data)
                if limit is not None and sent >= limit:
                    break
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(imap, "BATCH_SIZE", 5)
    yield


def test_disconnect_mid_sync_keeps_stored_batches(
    tmp_path: Path, dovecot: Dovecot, imap_user: ImapUser, small_batches: None
) -> None:
    messages = [
        (
            message(
                f"p{n}@example.org",
                "me@example.com",
                date=day(1 + n % 27),
                message_id=f"<{n}@x>",
                subject="x" * 200,
            ),
            day(1),
        )
        for n in range(40)
    ]
    dovecot.bulk_append(imap_user.username, "INBOX", messages)
    proxy = CuttingProxy(dovecot.tls_port, limit=12_000)
    try:
        cut = make_env(tmp_path, imap_account(dovecot, imap_user, port=proxy.port))
        result = cut.run("sync", "--once")
    finally:
        proxy.close()
    assert result.exit_code == 1
    assert "connection lost" in result.stderr or "cannot connect" in result.stderr
    db = sqlite3.connect(cut.db)
    stored = db.execute("SELECT count(*) FROM interactions").fetchone()[0]
    assert 0 < stored < 40  # the batches before the cut were committed
    [(state,)] = db.execute("SELECT state FROM sync_state").fetchall()
    db.close()
    assert f'"last_uid": {stored}' in state  # and the cursor with them, no further

    cut.config.write_text(cut.config.read_text().replace(str(proxy.port), str(dovecot.tls_port)))
    again = cut.run("sync", "--once")
    assert again.exit_code == 0, again.output
    assert f"{40 - stored} messages scanned, {40 - stored} new interactions" in again.stdout
    db = sqlite3.connect(cut.db)
    assert db.execute("SELECT count(*) FROM interactions").fetchone()[0] == 40
