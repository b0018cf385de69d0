"""The keys of a ``type = "imap"`` account, kept apart from the IMAP client.

Config validation needs only this dataclass; importing it does not import
imapclient, so loading the config or the engine loads no protocol library.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from connectors.base import DEFAULT_TIMEOUT, timeout_seconds


@dataclass(frozen=True)
class ImapSettings:
    """The keys of an ``type = "imap"`` account table."""

    host: str
    username: str
    port: int | None = None  # default: 993 for tls, 143 otherwise
    security: Literal["tls", "starttls", "plain"] = "tls"
    allow_insecure: bool = False
    ca_file: str | None = None  # an extra CA to trust, for self-hosted servers
    password_command: list[str] | None = None
    password_file: str | None = None  # a 0600 file holding the password
    folders: list[str] | None = None  # default: all but drafts, junk and trash
    #: seconds (or a duration, "30s") each connect, TLS handshake, login and command may
    #: take; stored as seconds
    timeout: timedelta | float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        object.__setattr__(self, "timeout", timeout_seconds(self.timeout))
        if self.security == "plain" and not self.allow_insecure:
            raise ValueError(
                "security = 'plain' would send the password unencrypted; "
                "use tls or starttls, or set allow_insecure = true"
            )
        if self.password_command and self.password_file:
            raise ValueError("password_command and password_file: give one of them")
