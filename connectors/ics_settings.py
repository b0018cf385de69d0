"""The keys of a ``type = "ics"`` account, kept apart from the iCalendar parser.

Config validation needs only this dataclass; importing it does not import
icalendar.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass


@dataclass(frozen=True)
class IcsSettings:
    """The keys of a ``type = "ics"`` account table (``url`` or ``path``)."""

    url: str | None = None
    path: str | None = None
    ca_file: str | None = None
    allow_insecure: bool = False
    timeout: float = 60.0

    def __post_init__(self) -> None:
        if (self.url is None) == (self.path is None):
            raise ValueError("give either url or path")
        if self.url is not None:
            scheme = urllib.parse.urlsplit(self.url).scheme.lower()
            if scheme not in ("https", "http"):
                raise ValueError(f"url must start with https:// (got {scheme or 'no scheme'})")
            if scheme == "http" and not self.allow_insecure:
                raise ValueError("url is plain http: use https, or set allow_insecure = true")
