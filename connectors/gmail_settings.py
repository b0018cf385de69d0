"""The keys of a ``type = "gmail"`` account, kept apart from the Gmail client.

Config validation needs only this dataclass; importing it does not import
google-api-python-client, so commands that never talk to Gmail start fast.
"""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from connectors.base import DEFAULT_TIMEOUT, PATH, timeout_seconds

SCOPE = "https://www.googleapis.com/auth/gmail.metadata"
DEFAULT_ENDPOINT = "https://gmail.googleapis.com"


@dataclass(frozen=True)
class GmailSettings:
    """The keys of a ``type = "gmail"`` account table."""

    client_secrets: str = field(metadata=PATH)  # the user's OAuth desktop client JSON
    token_file: str | None = field(
        default=None, metadata=PATH
    )  # default: the OAuth token lives in the keyring
    api_endpoint: str | None = None  # default: https://gmail.googleapis.com
    quota_per_minute: int = 5000  # a safe share of Google's 6,000 per user per minute
    #: seconds (or a duration, "30s") each HTTP request (API, batch, token refresh) may
    #: wait for the connection or an answer; stored as seconds
    timeout: timedelta | float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        object.__setattr__(self, "timeout", timeout_seconds(self.timeout))
        if self.quota_per_minute < 60:
            raise ValueError("quota_per_minute must be at least 60")
        if self.api_endpoint is not None:
            check_endpoint(self.api_endpoint)

    @property
    def endpoint(self) -> str:
        return (self.api_endpoint or DEFAULT_ENDPOINT).rstrip("/")


def check_endpoint(url: str) -> None:
    """An endpoint must be https, or plain http on a loopback address only."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname:
        host = parts.hostname
        if host == "localhost":
            return
        with contextlib.suppress(ValueError):
            if ipaddress.ip_address(host).is_loopback:
                return
    raise ValueError(
        f"api_endpoint {url!r}: expected https://..., or http:// on a loopback address"
    )
