"""The iCalendar-file connector: one .ics URL (a "secret address"), file or directory.

* A URL is https only (``allow_insecure = true`` allows http), certificates
  verified (``ca_file`` is then the CA bundle trusted), fetched with a
  timeout and with If-None-Match / If-Modified-Since from the last answer: a
  304 means nothing to do. The URL often carries a secret token: it is never
  put in state, hrefs or messages (they show scheme and host only).
* A path is one .ics file or a directory of them (``*.ics``, not recursive);
  a file whose size and mtime are unchanged is not read again.
* A source that changed is read in full: its batch removes everything it
  meant before (``removed`` holds its prefix, ending in "/") and brings its
  events again, one :class:`EventRecord` per UID with href ``prefix + UID``.
* An unusable VEVENT is skipped with one warning naming the file (or host)
  and its UID; the rest of the file still counts.
* State: scope ``"url"`` ``{"source", "etag", "last_modified"}``; for paths,
  one scope per file (its absolute path) ``{"size", "mtime_ns"}``. An empty
  scope means forget it (a file that is gone).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import icalendar

from connectors.base import (
    AuthError,
    Batch,
    ConnectError,
    ConnectorError,
    EventRecord,
    InsecureError,
    SyncState,
    TLSError,
)
from connectors.ical import MalformedError, reduced
from connectors.ics_settings import IcsSettings as IcsSettings

log = logging.getLogger("weakties.connectors.ics")

MAX_BYTES = 100 * 1024 * 1024  # a feed larger than this is refused


def masked(url: str) -> str:
    """``scheme://host[:port]/…``: what may be shown of a URL that may hold a token."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


def _calendar_name(data: bytes, fallback: str) -> str:
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except Exception:  # reduced() reports bad data; the name is only evidence
        return fallback
    name = str(calendar.get("X-WR-CALNAME", "")).strip()
    return name or fallback


def _records(data: bytes, prefix: str, fallback: str, where: str) -> list[EventRecord]:
    def bad(uid: str, exc: MalformedError) -> None:
        log.warning("%s: event %s skipped: %s", where, uid or "(no UID)", exc)

    try:
        found = reduced(data, on_bad=bad)
    except MalformedError as exc:
        log.warning("%s: skipped: %s", where, exc)
        return []
    name = _calendar_name(data, fallback)
    return [
        EventRecord(
            calendar=name,
            href=prefix + urllib.parse.quote(uid, safe="@.-_"),
            uid=uid,
            ical=ical,
            parsed=parsed,
        )
        for uid, ical, parsed in found
    ]


class IcsConnector:
    """An .ics source; see the module docstring. Nothing to log in to."""

    def __init__(self, settings: IcsSettings) -> None:
        self.settings = settings

    def __enter__(self) -> IcsConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        pass

    def batches(self, state: SyncState) -> Iterator[Batch]:
        if self.settings.url is not None:
            yield from self._url(self.settings.url, dict(state.get("url") or {}))
        else:
            assert self.settings.path is not None
            yield from self._paths(Path(os.path.expanduser(self.settings.path)), state)

    # -- a URL -------------------------------------------------------------------

    def _url(self, url: str, saved: dict[str, Any]) -> Iterator[Batch]:
        source = hashlib.sha256(url.encode()).hexdigest()[:16]
        prefix = f"ics:{source}/"
        same = saved.get("source") == source
        headers = {"User-Agent": "weakties", "Accept": "text/calendar"}
        if same and saved.get("etag"):
            headers["If-None-Match"] = saved["etag"]
        if same and saved.get("last_modified"):
            headers["If-Modified-Since"] = saved["last_modified"]
        fetched = fetch(self.settings, url, headers)
        if fetched is None:
            return  # 304 Not Modified
        data, etag, last_modified = fetched
        fallback = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
        events = _records(data, prefix, fallback.removesuffix(".ics") or "calendar", masked(url))
        removed = [prefix]
        if saved.get("source") and not same:
            removed.append(f"ics:{saved['source']}/")
        yield Batch(
            records=[],
            events=events,
            removed=removed,
            state={"url": {"source": source, "etag": etag, "last_modified": last_modified}},
            expected_total=len(events),
        )

    # -- files ---------------------------------------------------------------------

    def _paths(self, path: Path, state: SyncState) -> Iterator[Batch]:
        if path.is_dir():
            files = sorted(p for p in path.glob("*.ics") if p.is_file())
        elif path.is_file():
            files = [path]
        else:
            raise ConnectorError(f"path {path}: no such file or directory")
        current = {str(p.resolve()) for p in files}
        for scope, saved in list(state.items()):
            if saved and scope != "url" and scope not in current:
                yield Batch(records=[], state={scope: {}}, removed=[f"file:{scope}/"])
        for file in files:
            key = str(file.resolve())
            try:
                stat = file.stat()
                saved = dict(state.get(key) or {})
                if saved.get("size") == stat.st_size and saved.get("mtime_ns") == stat.st_mtime_ns:
                    continue
                data = file.read_bytes()
            except OSError as exc:
                raise ConnectorError(f"{file}: cannot read: {exc.strerror or exc}") from None
            events = _records(data, f"file:{key}/", file.stem, str(file))
            yield Batch(
                records=[],
                events=events,
                removed=[f"file:{key}/"],
                state={key: {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}},
                expected_total=len(events),
            )


def _context(settings: IcsSettings) -> ssl.SSLContext:
    if settings.ca_file:
        try:
            return ssl.create_default_context(cafile=os.path.expanduser(settings.ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise ConnectorError(f"ca_file {settings.ca_file}: cannot load: {exc}") from None
    return ssl.create_default_context()


def fetch(
    settings: IcsSettings, url: str, headers: dict[str, str]
) -> tuple[bytes, str | None, str | None] | None:
    """GET ``url``: (body, ETag, Last-Modified), or None on 304. Raises ConnectorError."""
    where = masked(url)
    if urllib.parse.urlsplit(url).scheme.lower() != "https" and not settings.allow_insecure:
        raise InsecureError(f"{where}: plain http refused: use https, or set allow_insecure = true")
    request = urllib.request.Request(url, headers=headers)
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=_context(settings)))
    try:
        with opener.open(request, timeout=settings.timeout) as response:
            data = response.read(MAX_BYTES + 1)
            if len(data) > MAX_BYTES:
                raise ConnectorError(f"{where}: larger than {MAX_BYTES // 2**20} MB")
            return data, response.headers.get("ETag"), response.headers.get("Last-Modified")
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return None
        if exc.code in (401, 403):
            raise AuthError(f"{where}: refused ({exc.code}): is the address still valid?") from None
        raise ConnectorError(f"{where}: HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, ssl.SSLCertVerificationError):
            message = reason.verify_message or "verification failed"
            raise TLSError(f"{where}: certificate not trusted: {message}") from None
        if isinstance(reason, ssl.SSLError):
            raise TLSError(f"{where}: TLS failed: {reason.reason or reason}") from None
        if isinstance(reason, TimeoutError | socket.timeout):
            raise ConnectError(f"{where}: timed out") from None
        text = getattr(reason, "strerror", None) or str(reason)
        raise ConnectError(f"{where}: cannot connect: {text}") from None
    except TimeoutError:
        raise ConnectError(f"{where}: timed out") from None
    except OSError as exc:
        raise ConnectError(f"{where}: connection failed: {exc.strerror or exc}") from None


def connect(settings: IcsSettings) -> IcsConnector:
    """An .ics source; nothing is fetched before :meth:`IcsConnector.batches`."""
    if (
        settings.url is not None
        and urllib.parse.urlsplit(settings.url).scheme.lower() != "https"
        and not settings.allow_insecure
    ):
        raise InsecureError(
            f"{masked(settings.url)}: plain http refused: use https, or set allow_insecure = true"
        )
    return IcsConnector(settings)
