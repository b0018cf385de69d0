"""Real CalDAV servers for the test suite: Radicale and Xandikos on 127.0.0.1.

* **Radicale** (``python -m radicale``) serves TLS itself with a throwaway
  certificate from the test CA (``tests.dovecot.make_certificates``) and checks
  passwords against a plain htpasswd file; users can be added at any time.
  Requests are counted from its log ("PROPFIND request for ...").
* **Xandikos** has no password check of its own short of ``--autocert``'s
  self-signed certificate, so it runs in ``multi-user`` mode on a plain
  loopback port, trusting ``X-Remote-User`` from 127.0.0.1 only, behind
  :class:`_AuthProxy`: a small TLS + HTTP Basic reverse proxy in this process
  that checks the password, sets ``X-Remote-User`` (dropping any the client
  sent) and counts requests.

Both are driven the same way through :class:`DavServer`: ``new_user()``,
``make_calendar(user, name)`` (MKCALENDAR with a display name), ``put`` /
``delete`` of events, ``requests()`` (how many requests the server has seen).
Everything lives in a temp dir removed at ``stop()``; the processes run in
their own session and are stopped at exit at the latest.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import http.client
import http.server
import itertools
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.dovecot import free_ports, make_certificates, stop_process

HOST = "127.0.0.1"
_STARTUP_TIMEOUT = 30.0
_TIMEOUT = 20.0
_RADICALE_REQUEST = re.compile(r"\b([A-Z]+) request for '")
_HOP_HEADERS = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
    "authorization",
    "x-remote-user",
    "host",
    "content-length",
}


class DavStartError(RuntimeError):
    """A server did not come up; the message carries the end of its log."""


@dataclass(frozen=True)
class DavUser:
    username: str
    password: str


@dataclass
class DavServer:
    """Handle on a running test CalDAV server (see the module docstring)."""

    kind: str  # "radicale" or "xandikos"
    port: int
    ca_file: Path
    wrong_ca_file: Path
    root: Path
    log_path: Path
    _process: subprocess.Popen[bytes] | None = field(repr=False, default=None)
    _proxy: _AuthProxy | None = field(repr=False, default=None)
    _users: dict[str, str] = field(repr=False, default_factory=dict)
    _counter: Iterator[int] = field(repr=False, default_factory=lambda: itertools.count(1))

    # -- lifecycle -------------------------------------------------------------

    def __enter__(self) -> DavServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        atexit.unregister(self.stop)
        if self._proxy is not None:
            self._proxy.shutdown()
            self._proxy.server_close()
            self._proxy = None
        stop_process(self._process)
        self._process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    # -- where -----------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"https://localhost:{self.port}"

    def home_url(self, user: DavUser) -> str:
        """The user's calendar home (a collection holding their calendars)."""
        if self.kind == "radicale":
            return f"{self.base_url}/{user.username}/"
        return f"{self.base_url}/{user.username}/calendars/"

    def calendar_url(self, user: DavUser, slug: str) -> str:
        return f"{self.home_url(user)}{slug}/"

    # -- users -------------------------------------------------------------------

    def new_user(self) -> DavUser:
        username = f"u{next(self._counter)}{secrets.token_hex(2)}"
        password = secrets.token_urlsafe(12)
        self._users[username] = password
        if self.kind == "radicale":
            lines = "".join(f"{u}:{p}\n" for u, p in self._users.items())
            path = self.root / "htpasswd"
            tmp = path.with_suffix(".tmp")
            tmp.write_text(lines)
            tmp.replace(path)
        else:
            assert self._proxy is not None
            self._proxy.users[username] = password
        user = DavUser(username, password)
        if self.kind == "xandikos":  # the principal and its home come on first use
            self.request(user, "PROPFIND", f"{self.base_url}/{username}/", depth="0")
            self.request(user, "MKCOL", self.home_url(user), expect=(201, 405))
        return user

    # -- requests ----------------------------------------------------------------

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def request(
        self,
        user: DavUser,
        method: str,
        url: str,
        body: bytes = b"",
        *,
        depth: str | None = None,
        content_type: str = "application/xml; charset=utf-8",
        expect: tuple[int, ...] = (200, 201, 204, 207),
    ) -> tuple[int, bytes]:
        parts = urllib.parse.urlsplit(url)
        conn = http.client.HTTPSConnection(
            parts.hostname or HOST, parts.port, context=self.context(), timeout=_TIMEOUT
        )
        token = base64.b64encode(f"{user.username}:{user.password}".encode()).decode()
        headers = {"Authorization": f"Basic {token}", "Content-Type": content_type}
        if depth is not None:
            headers["Depth"] = depth
        try:
            conn.request(method, parts.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        if response.status not in expect:
            raise AssertionError(f"{method} {url}: {response.status} {data[:300]!r}")
        return response.status, data

    def make_calendar(
        self,
        user: DavUser,
        name: str,
        *,
        slug: str | None = None,
        components: tuple[str, ...] = ("VEVENT",),
    ) -> str:
        """MKCALENDAR a calendar with display ``name``; returns its URL."""
        url = self.calendar_url(user, slug or f"c{secrets.token_hex(4)}")
        comps = "".join(f'<C:comp name="{c}"/>' for c in components)
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            f"<D:set><D:prop><D:displayname>{name}</D:displayname>"
            f"<C:supported-calendar-component-set>{comps}</C:supported-calendar-component-set>"
            "</D:prop></D:set></C:mkcalendar>"
        ).encode()
        self.request(user, "MKCALENDAR", url, body)
        return url

    def put(self, user: DavUser, calendar_url: str, name: str, ics: bytes) -> str:
        """PUT one resource into a calendar; returns its URL."""
        url = calendar_url + name
        self.request(user, "PUT", url, ics, content_type="text/calendar; charset=utf-8")
        return url

    def delete(self, user: DavUser, url: str) -> None:
        self.request(user, "DELETE", url)

    def requests(self) -> int:
        """How many HTTP requests the server has answered so far."""
        if self._proxy is not None:
            return self._proxy.count
        return len(_RADICALE_REQUEST.findall(self.log_path.read_text(errors="replace")))


# -- Radicale ----------------------------------------------------------------------


def start_radicale() -> DavServer:
    root = Path(tempfile.mkdtemp(prefix="weakties-radicale-"))
    ca_file, wrong_ca, cert, key = make_certificates(root / "tls")
    (root / "htpasswd").write_text("")
    (port,) = free_ports(1)
    (root / "config").write_text(f"""\
[server]
hosts = {HOST}:{port}
ssl = True
certificate = {cert}
key = {key}
[auth]
type = htpasswd
htpasswd_filename = {root / "htpasswd"}
htpasswd_encryption = plain
delay = 0
[rights]
type = owner_only
[storage]
filesystem_folder = {root / "collections"}
[web]
type = none
[logging]
level = info
""")
    server = DavServer("radicale", port, ca_file, wrong_ca, root, root / "radicale.log")
    with open(server.log_path, "ab") as log:
        server._process = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(root / "config")],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    atexit.register(server.stop)
    _wait_tls(server)
    return server


# -- Xandikos behind the proxy ---------------------------------------------------------


class _AuthProxy(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, upstream: int, context: ssl.SSLContext) -> None:
        super().__init__((HOST, port), _ProxyHandler)
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.upstream = upstream
        self.users: dict[str, str] = {}
        self.count = 0
        self.lock = threading.Lock()


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _AuthProxy

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _user(self) -> str | None:
        value = self.headers.get("Authorization", "")
        if not value.lower().startswith("basic "):
            return None
        try:
            user, _, password = base64.b64decode(value[6:]).decode().partition(":")
        except ValueError:
            return None
        known = self.server.users.get(user)
        return user if known is not None and secrets.compare_digest(known, password) else None

    def _handle(self) -> None:
        with self.server.lock:
            self.server.count += 1
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        user = self._user()
        if user is None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="test"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
        headers["X-Remote-User"] = user
        conn = http.client.HTTPConnection(HOST, self.server.upstream, timeout=_TIMEOUT)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in _HOP_HEADERS:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def __getattr__(self, name: str) -> object:
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)


def start_xandikos() -> DavServer:
    root = Path(tempfile.mkdtemp(prefix="weakties-xandikos-"))
    ca_file, wrong_ca, cert, key = make_certificates(root / "tls")
    port, upstream = free_ports(2)
    server = DavServer("xandikos", port, ca_file, wrong_ca, root, root / "xandikos.log")
    xandikos = shutil.which("xandikos") or "xandikos"
    with open(server.log_path, "ab") as log:
        server._process = subprocess.Popen(
            [
                xandikos,
                "multi-user",
                "-d",
                str(root / "data"),
                "-l",
                HOST,
                "-p",
                str(upstream),
                "--state-dir",
                str(root / "state"),
                "--trust-x-remote-user-from",
                HOST,
                "--no-detect-systemd",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    atexit.register(server.stop)
    _wait_port(server, upstream)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server._proxy = _AuthProxy(port, upstream, context)
    threading.Thread(
        target=server._proxy.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    ).start()
    return server


# -- readiness ------------------------------------------------------------------------


def _alive(server: DavServer) -> None:
    proc = server._process
    assert proc is not None
    if proc.poll() is not None:
        server.stop()
        raise DavStartError(f"{server.kind} exited with {proc.returncode}:\n{server.log_tail()}")


def _wait_port(server: DavServer, port: int) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    while True:
        _alive(server)
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
            return
        if time.monotonic() > deadline:
            tail = server.log_tail()
            server.stop()
            raise DavStartError(f"{server.kind} did not listen within {_STARTUP_TIMEOUT}s:\n{tail}")
        time.sleep(0.05)


def _wait_tls(server: DavServer) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    while True:
        _alive(server)
        try:
            with (
                socket.create_connection((HOST, server.port), timeout=1) as sock,
                server.context().wrap_socket(sock, server_hostname="localhost"),
            ):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            tail = server.log_tail()
            server.stop()
            raise DavStartError(f"{server.kind} did not answer within {_STARTUP_TIMEOUT}s:\n{tail}")
        time.sleep(0.05)
