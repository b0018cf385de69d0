"""Sending one mail over SMTP (the digest): implicit TLS or STARTTLS, certificate checked, login.

The certificate must be valid for ``host`` as configured (name or IP address).

Every failure becomes one :class:`SendError` whose text is one line naming the
problem (unreachable, refused login, untrusted certificate) and never the
password.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

TIMEOUT = 30.0
Security = Literal["tls", "starttls"]


class SendError(Exception):
    """Sending failed; ``str()`` is one line without secrets."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: Security = "tls"
    username: str | None = None
    ca_file: Path | None = None
    timeout: float = TIMEOUT


def _context(settings: SmtpSettings) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(
            cafile=str(settings.ca_file) if settings.ca_file else None
        )
    except (OSError, ssl.SSLError) as exc:
        raise SendError(
            f"SMTP ca_file {settings.ca_file}: cannot load ({exc.strerror or type(exc).__name__})"
        ) from None


def _one_line(text: object) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(str(text).split())[:200]


def check_login(settings: SmtpSettings, password: str | None) -> None:
    """Connect and log in, send nothing (``weakties auth --digest``); SendError as for send."""
    send(None, settings, password)


def send(message: EmailMessage | None, settings: SmtpSettings, password: str | None) -> None:
    """Send ``message`` to its To/Cc/Bcc (None: only log in); raises SendError (one line,
    no password)."""
    where = f"SMTP server {settings.host}:{settings.port}"
    context = _context(settings)
    try:
        client: smtplib.SMTP
        if settings.security == "tls":
            client = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.security == "starttls":
                client.starttls(context=context)
            if settings.username is not None:
                client.login(settings.username, password or "")
            if message is not None:
                client.send_message(message)
    except ssl.SSLCertVerificationError as exc:
        raise SendError(
            f"{where}: certificate not trusted ({_one_line(exc.verify_message)})"
        ) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise SendError(
            f"{where}: login refused for {settings.username} "
            f"({exc.smtp_code} {_one_line(exc.smtp_error)})"
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise SendError(f"{where}: {_one_line(exc)}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendError(f"{where}: recipients refused ({', '.join(exc.recipients)})") from None
    except smtplib.SMTPResponseException as exc:
        raise SendError(f"{where}: {exc.smtp_code} {_one_line(exc.smtp_error)}") from None
    except TimeoutError:
        raise SendError(f"{where}: no answer within {settings.timeout:g}s") from None
    except ssl.SSLError as exc:
        raise SendError(f"{where}: TLS failed ({_one_line(exc.reason or exc)})") from None
    except (OSError, smtplib.SMTPException) as exc:
        why = getattr(exc, "strerror", None) or _one_line(exc) or type(exc).__name__
        raise SendError(f"{where}: unreachable ({why})") from None
