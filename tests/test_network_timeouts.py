"""A server that accepts the connection and then never answers does not hang the
sync (issue 13, row 21): each step has the account's ``timeout``; that account is
one line, the others still sync, exit status 1.

The silent servers are real sockets on 127.0.0.1 that stop answering at a chosen
step: before the TLS handshake, after it (no greeting), after the greeting (no
answer to LOGIN), after LOGIN (no answer to the first command); and an HTTP
endpoint that never answers, for the Gmail API.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors import imap
from connectors.base import ConnectError
from syncd import config
from tests.dovecot import Dovecot, ImapUser
from tests.helpers import day, imap_account, make_env, message

ME = "me@example.com"
TIMEOUT = 1  # seconds, the silent account's setting
WITHIN = 8.0  # seconds a whole `sync --once` may take (a loaded 2-core machine)


class SilentServer:
    """Accepts connections and stops answering after ``step``.

    ``tcp``: never writes (a TLS client hangs in the handshake, a plain one waits
    for the greeting); ``tls``: completes the TLS handshake, then no greeting;
    ``greeting``: greets (with its capabilities), then never answers; ``login``:
    greets and accepts LOGIN, then never answers again.
    """

    def __init__(self, step: str, dovecot: Dovecot | None = None) -> None:
        self.step = step
        self.context: ssl.SSLContext | None = None
        if step != "tcp" and dovecot is not None:
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls_dir = dovecot.root / "tls"
            self.context.load_cert_chain(tls_dir / "server.pem", tls_dir / "server.key")
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.accepted = 0
        self._open: list[socket.socket] = []
        self._done = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            self._open.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError, ssl.SSLError):
            if self.step == "tcp":
                return  # keep it open, say nothing
            assert self.context is not None
            conn = self.context.wrap_socket(conn, server_side=True)
            self._open.append(conn)
            if self.step == "tls":
                return
            conn.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n")
            while line := conn.recv(4096):
                tag, command = [*line.split(), b""][:2]
                if command.upper() == b"CAPABILITY":
                    conn.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK done\r\n")
                elif command.upper() == b"LOGIN" and self.step == "login":
                    conn.sendall(tag + b" OK [CAPABILITY IMAP4rev1] logged in\r\n")
                else:
                    return  # never answered, the connection stays open

    def close(self) -> None:
        self.listener.close()
        for conn in self._open:
            with contextlib.suppress(OSError):
                conn.close()


@pytest.fixture
def good(dovecot: Dovecot, imap_user: ImapUser) -> ImapUser:
    dovecot.append(imap_user.username, "INBOX", message("z@example.org", ME, date=day(3)))
    return imap_user


@pytest.mark.parametrize(
    "step, security, expected",
    [
        ("tcp", "tls", "timed out in the TLS handshake: no answer within 1 s (timeout)"),
        ("tcp", "starttls", "timed out connecting: no answer within 1 s (timeout)"),
        ("tls", "tls", "timed out connecting: no answer within 1 s (timeout)"),
        ("greeting", "tls", "timed out logging in: no answer within 1 s (timeout)"),
        ("login", "tls", "timed out: no answer within 1 s (timeout)"),
    ],
)
def test_a_silent_imap_server_is_one_line_and_the_others_sync(
    tmp_path: Path, dovecot: Dovecot, good: ImapUser, step: str, security: str, expected: str
) -> None:
    silent = SilentServer(step, dovecot)
    try:
        env = make_env(
            tmp_path,
            imap_account(
                dovecot,
                dovecot.new_user(),
                "silent",
                port=silent.port,
                security=security,
                timeout=TIMEOUT,
            ),
            imap_account(dovecot, good, "good"),
            identity=(ME,),
        )
        started = time.monotonic()
        result = env.run("sync", "--once")
        took = time.monotonic() - started
    finally:
        silent.close()
    assert silent.accepted >= 1  # it really was reached, and said nothing
    assert took < WITHIN, f"sync --once took {took:.1f} s"
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("weakties: error: silent: ") and line.endswith(expected), line
    assert "good: 1 messages scanned, 1 new interactions" in result.stdout


def test_a_silent_command_does_not_wait_again_at_logout(dovecot: Dovecot) -> None:
    """After a timed-out command the session is dropped, not logged out politely
    (LOGOUT would wait for the timeout a second time)."""
    silent = SilentServer("login", dovecot)
    try:
        settings = imap.ImapSettings(
            host="127.0.0.1",
            port=silent.port,
            username="u",
            ca_file=str(dovecot.ca_file),
            timeout=TIMEOUT,
        )
        connector = imap.connect(settings, "p")
        started = time.monotonic()
        with pytest.raises(ConnectError, match="timed out"):
            list(connector.batches({}))
        connector.close()
        took = time.monotonic() - started
    finally:
        silent.close()
    assert took < TIMEOUT + 0.9, f"{took:.1f} s: close() waited for the server again"


class SilentHttp:
    """An HTTP endpoint that accepts connections and never answers."""

    def __init__(self) -> None:
        self.server = SilentServer("tcp")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


@pytest.fixture
def silent_http() -> Iterator[SilentHttp]:
    endpoint = SilentHttp()
    yield endpoint
    endpoint.server.close()


def test_a_silent_gmail_api_is_one_line_and_the_others_sync(
    tmp_path: Path, dovecot: Dovecot, good: ImapUser, silent_http: SilentHttp
) -> None:
    token = tmp_path / "silent-token.json"
    token.write_text(
        json.dumps(
            {
                "token": "access",
                "refresh_token": "refresh",
                "client_id": "id",
                "client_secret": "secret",
                "token_uri": f"{silent_http.url}/token",
            }
        )
    )
    token.chmod(0o600)
    gmail = (
        f'[[account]]\nname = "silent"\ntype = "gmail"\n'
        f'client_secrets = "{tmp_path}/client_secret.json"\n'
        f'token_file = "{token}"\napi_endpoint = "{silent_http.url}"\n'
        f'timeout = "{TIMEOUT}s"\n'
    )
    env = make_env(tmp_path, gmail, imap_account(dovecot, good, "good"), identity=(ME,))
    started = time.monotonic()
    result = env.run("sync", "--once")
    took = time.monotonic() - started
    assert silent_http.server.accepted >= 1
    # three attempts of 1 s with back-off between them (0.5..1 s, then 1..2 s)
    assert took < WITHIN + 3, f"sync --once took {took:.1f} s"
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"weakties: error: silent: {silent_http.url}: ") and "timed out" in line
    assert "good: 1 messages scanned, 1 new interactions" in result.stdout


@pytest.mark.parametrize(
    "kind, extra",
    [
        ("imap", {"host": "h", "username": "u"}),
        ("gmail", {"client_secrets": "c.json"}),
    ],
)
def test_timeout_setting(tmp_path: Path, kind: str, extra: dict[str, str]) -> None:
    def settings(**more: object) -> object:
        account = {"name": "a", "type": kind, **extra, **more}
        return config.parse({"account": [account]}, tmp_path / "c.toml").accounts[0].settings

    assert settings().timeout == 30.0  # type: ignore[attr-defined]
    assert settings(timeout=5).timeout == 5.0  # type: ignore[attr-defined]
    assert settings(timeout=2.5).timeout == 2.5  # type: ignore[attr-defined]
    assert settings(timeout="2min").timeout == 120.0  # type: ignore[attr-defined]
    for bad, why in [
        (0, "must be between 1 and 600 seconds, got 0"),
        ("1h", "must be between 1 and 600 seconds, got 3600"),
        ("soon", "expected a duration such as '90d' or a number"),
        (True, "expected a duration such as '90d' or a number"),
    ]:
        with pytest.raises(config.ConfigError) as caught:
            settings(timeout=bad)
        assert str(caught.value).startswith(f"{tmp_path / 'c.toml'}: account 'a'.timeout: ")
        assert why in str(caught.value)
