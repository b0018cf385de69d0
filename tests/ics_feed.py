"""A local https server publishing one .ics body, as a calendar's "secret address" does.

:func:`serve_feed` starts it on 127.0.0.1 with a throwaway certificate from the
test CA (``tests.dovecot.make_certificates``); the :class:`Feed` it yields is
both the server's state (set ``body`` or ``status`` at any time) and what the
client needs (``url``, ``ca_file``). Answers carry an ETag (a hash of the body)
and Last-Modified; a matching If-None-Match gets 304.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import http.server
import shutil
import ssl
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.dovecot import free_ports, make_certificates

SECRET = "private-3f9a1c0b7d"  # the token in the feed's path, never to be shown


@dataclass
class Feed:
    """A local https server publishing one .ics body with ETag and Last-Modified."""

    body: bytes
    port: int = 0
    ca_file: Path = Path()
    wrong_ca_file: Path = Path()
    status: int | None = None  # force an answer (401, 500)
    seen: list[dict[str, str]] = field(default_factory=list)
    modified: float = 1_700_000_000.0

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}/calendar/ical/{SECRET}/basic.ics"

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@contextlib.contextmanager
def serve_feed(body: bytes) -> Iterator[Feed]:
    """Serve ``body`` over https until the block ends."""
    root = Path(tempfile.mkdtemp(prefix="weakties-ics-"))
    ca_file, wrong_ca, cert, key = make_certificates(root / "tls")
    state = Feed(body=body, ca_file=ca_file, wrong_ca_file=wrong_ca)

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            state.seen.append(dict(self.headers.items()))
            if state.status:
                self.send_response(state.status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            last_modified = email.utils.formatdate(state.modified, usegmt=True)
            if self.headers.get("If-None-Match") == state.etag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/calendar")
            self.send_header("ETag", state.etag)
            self.send_header("Last-Modified", last_modified)
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

    (state.port,) = free_ports(1)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", state.port), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        shutil.rmtree(root, ignore_errors=True)
