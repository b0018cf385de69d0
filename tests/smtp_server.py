"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, STARTTLS, AUTH PLAIN/LOGIN for one user.

The throwaway certificate comes from ``tests.dovecot``'s helper (valid for
localhost and 127.0.0.1, signed by a test CA; a second, unrelated CA is there
to provoke "untrusted certificate").
"""

from __future__ import annotations

import email
import email.policy
import ssl
import tempfile
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.dovecot import _free_ports, _make_certificates

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class _Collector:
    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = (envelope.original_content or b"").replace(b"\r\n", b"\n")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), msg))
        return "250 OK"


class SmtpServer:
    """``with SmtpServer() as smtp``: ``smtp.port``, ``smtp.ca_file``, ``smtp.received``.

    ``implicit_tls=True``: TLS from the first byte (port 465 style) instead of STARTTLS.
    """

    def __init__(
        self,
        username: str = "alice",
        password: str = "s3cret-smtp-pw",
        *,
        implicit_tls: bool = False,
    ) -> None:
        self.username, self.password = username, password
        self._tmp = tempfile.TemporaryDirectory(prefix="weakties-smtp-")
        self.ca_file, self.wrong_ca_file, cert, key = _make_certificates(
            Path(self._tmp.name) / "tls"
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        self._collector = _Collector()
        self.port = _free_ports(1)[0]
        tls: dict[str, Any] = (
            # aiosmtpd's auth_require_tls only knows STARTTLS; implicit TLS is TLS throughout
            {"ssl_context": context, "auth_require_tls": False}
            if implicit_tls
            else {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
        )
        self._controller = Controller(
            self._collector,
            hostname=HOST,
            port=self.port,
            authenticator=self._authenticate,
            auth_exclude_mechanism=["CRAM-MD5"],
            server_hostname="localhost",
            ready_timeout=10.0,
            **tls,
        )

    @property
    def received(self) -> list[Received]:
        return self._collector.received

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.username.encode()
            and auth_data.password == self.password.encode()
        )
        return AuthResult(success=ok, handled=False)

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self._controller.stop()
        self._tmp.cleanup()
