"""The keys of a ``type = "caldav"`` account, kept apart from the CalDAV client.

Config validation needs only this dataclass; importing it does not import
caldav or niquests.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass


@dataclass(frozen=True)
class CaldavSettings:
    """The keys of a ``type = "caldav"`` account table."""

    url: str
    username: str
    password_command: list[str] | None = None
    password_file: str | None = None
    ca_file: str | None = None  # the CA bundle to trust, for self-hosted servers
    calendars: list[str] | None = None  # display names; default every event calendar
    allow_insecure: bool = False
    timeout: float = 60.0

    def __post_init__(self) -> None:
        scheme = urllib.parse.urlsplit(self.url).scheme.lower()
        if scheme not in ("https", "http"):
            raise ValueError(f"url must start with https:// (got {scheme or 'no scheme'})")
        if scheme == "http" and not self.allow_insecure:
            raise ValueError(
                "url is plain http: the password would travel unencrypted; "
                "use https, or set allow_insecure = true"
            )
        if self.password_command and self.password_file:
            raise ValueError("password_command and password_file: give one of them")
