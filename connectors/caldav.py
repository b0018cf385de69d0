"""The CalDAV connector (caldav): discovery, incremental sync per calendar, events.

* https only (``allow_insecure = true`` allows http), certificates verified
  (``ca_file`` is then the CA bundle trusted), HTTP Basic sent up front, a
  timeout on every request.
* ``url`` is a calendar home (every calendar in it that holds VEVENTs) or one
  calendar collection; anything else (a server root, a principal) is resolved
  through caldav's principal discovery. ``calendars`` picks display names.
* One PROPFIND (Depth 1) on ``url`` lists the calendars with their
  sync-token and CTag; it also checks the password at :func:`connect`. A
  calendar whose sync-token (else CTag) is unchanged costs nothing more, so a
  sync where nothing changed costs one request per account.
* A changed calendar: RFC 6578 sync-collection from the saved token where the
  server has sync-tokens (an expired token reads the calendar again in
  full), else the ETags (PROPFIND Depth 1) against the saved ones. Only new
  and changed resources are fetched (calendar-multiget, in chunks); deleted
  ones are reported in :attr:`Batch.removed`.
* State per calendar (scope = the calendar's path): ``{"name", "token",
  "ctag"}``, plus ``"etags"`` ({href: etag}) where the server has no
  sync-token, and ``"todo"`` (the hrefs still to fetch) in the state of every
  batch but a calendar's last: a pass stopped there resumes from the new
  token (or ETags) with the rest, neither losing nor fetching again what the
  saved batches held. A calendar that is gone gets its state emptied and ``"<path>"``
  (ending in "/", meaning every resource under it) in ``removed``; so does one
  re-read in full, before its resources come again.
* A resource that is not usable iCalendar is skipped with one warning naming
  the calendar and its href, and reported removed (what it meant before is
  gone); the rest of the calendar still counts.
"""

from __future__ import annotations

import logging
import os
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import niquests
from caldav.davclient import DAVClient
from caldav.elements import cdav, dav
from caldav.lib import error as dav_error

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
from connectors.caldav_settings import CaldavSettings as CaldavSettings
from connectors.ical import MalformedError, reduced

log = logging.getLogger("weakties.connectors.caldav")
T = TypeVar("T")

#: Resources fetched per calendar-multiget REPORT (and per Batch).
CHUNK = 100
_CS = "http://calendarserver.org/ns/"
_GETCTAG = f"{{{_CS}}}getctag"
_SYNC_TOKEN = "{DAV:}sync-token"
_CALENDAR = cdav.Calendar.tag


@dataclass(frozen=True)
class CalendarInfo:
    """One calendar as the listing shows it."""

    path: str  # the collection's URL path, ending in "/"
    name: str  # display name (the last path segment when there is none)
    token: str | None  # sync-token
    ctag: str | None


def _path(href: str) -> str:
    return urllib.parse.unquote(urllib.parse.urlsplit(href).path)


def _propfind_body(*props: str) -> str:
    names = "".join(f"<{p}/>" for p in props)
    return (
        '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" '
        f'xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="{_CS}"><D:prop>{names}'
        "</D:prop></D:propfind>"
    )


_LISTING = _propfind_body(
    "D:resourcetype",
    "D:displayname",
    "C:supported-calendar-component-set",
    "D:sync-token",
    "CS:getctag",
)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def calendars_in(results: Sequence[Any], url_path: str) -> list[CalendarInfo]:
    """The event calendars in a Depth-1 listing of ``url_path``: the collection
    itself if it is a calendar, else its calendar children."""
    found = []
    for result in results:
        props = result.properties
        if _CALENDAR not in _as_list(props.get(dav.ResourceType.tag)):
            continue
        components = _as_list(props.get(cdav.SupportedCalendarComponentSet.tag))
        if components and "VEVENT" not in components:
            continue
        path = _path(result.href)
        path = path if path.endswith("/") else path + "/"
        name = props.get(dav.DisplayName.tag)
        info = CalendarInfo(
            path=path,
            name=str(name)
            if isinstance(name, str) and name
            else path.rstrip("/").rsplit("/", 1)[-1],
            token=props.get(_SYNC_TOKEN) or None,
            ctag=props.get(_GETCTAG) or None,
        )
        if path.rstrip("/") == url_path.rstrip("/"):
            return [info]
        found.append(info)
    return found


class CaldavConnector:
    """A logged-in CalDAV account; see the module docstring."""

    def __init__(
        self, settings: CaldavSettings, client: DAVClient, listing: list[CalendarInfo]
    ) -> None:
        self.settings = settings
        self.client = client
        self._listing: list[CalendarInfo] | None = listing
        parts = urllib.parse.urlsplit(settings.url)
        self._origin = f"{parts.scheme}://{parts.netloc}"

    def __enter__(self) -> CaldavConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    def calendars(self) -> list[CalendarInfo]:
        """The calendars to read (the listing made at connect, then fresh ones)."""
        listing = self._listing
        self._listing = None
        if listing is None:
            listing = _guard(self.settings, lambda: _discover(self.settings, self.client))
        wanted = self.settings.calendars
        if wanted is None:
            return listing
        by_name = {c.name: c for c in listing}
        missing = [w for w in wanted if w not in by_name]
        if missing:
            raise ConnectorError(f"{_where(self.settings)}: no calendar named {missing[0]!r}")
        return [by_name[w] for w in wanted]

    def batches(self, state: SyncState) -> Iterator[Batch]:
        yield from _guard_iter(self.settings, lambda: self._batches(state))

    def _batches(self, state: SyncState) -> Iterator[Batch]:
        calendars = self.calendars()
        current = {c.path for c in calendars}
        for scope, saved in list(state.items()):
            if saved and scope not in current:  # deleted on the server or deselected
                yield Batch(records=[], state={scope: {}}, removed=[scope])
        for info in calendars:
            yield from self._calendar(info, dict(state.get(info.path) or {}))

    def _calendar(self, info: CalendarInfo, saved: dict[str, Any]) -> Iterator[Batch]:
        todo: list[str] = list(saved.get("todo") or [])  # a pass stopped mid-calendar
        if saved and not todo and info.token is not None and saved.get("token") == info.token:
            return
        if (
            saved
            and not todo
            and info.token is None
            and info.ctag is not None
            and saved.get("ctag") == info.ctag
        ):
            return
        new_state: dict[str, Any] = {"name": info.name, "token": None, "ctag": info.ctag}
        removed: list[str] = []
        full = not saved
        changed: list[str] = []
        if info.token is not None:
            result = None
            if saved.get("token"):
                result = self._sync_report(info, saved["token"])
            if result is None:
                full = True
                result = self._sync_report(info, None)
            assert result is not None
            changed = [_path(c.href) for c in result.changed]
            if not full:
                removed = [_path(h) for h in result.deleted]
            new_state["token"] = result.sync_token or info.token
        else:
            etags = self._etags(info)
            old: dict[str, str] = dict(saved.get("etags") or {})
            changed = [h for h, tag in etags.items() if old.get(h) != tag or full]
            removed = [h for h in old if h not in etags]
            new_state["etags"] = etags
        changed = [h for h in changed if h.rstrip("/") != info.path.rstrip("/")]
        if not full:  # still to fetch from the stopped pass, unless gone since
            listed, gone = set(changed), set(removed)
            changed += [h for h in todo if h not in listed and h not in gone]
        if full and saved:
            removed = [info.path]  # re-read in full: forget what it held
        yield from self._fetch(info, changed, removed, new_state)

    def _sync_report(self, info: CalendarInfo, token: str | None) -> Any:
        body = (
            '<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:">'
            f"<D:sync-token>{_xml_text(token or '')}</D:sync-token>"
            "<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop>"
            "</D:sync-collection>"
        )
        try:
            response = self.client.report(self._url(info.path), body, depth=0)
        except dav_error.DAVError:
            # Includes 403: RFC 6578 answers an unknown token with 403
            # (DAV:valid-sync-token), which caldav reports as an authorization
            # error. The listing just passed the login, and a genuine refusal
            # recurs on the full read (token None), which raises.
            if token is None:
                raise
            return None  # an expired or unknown token: read the calendar in full
        if response.status in (403, 409, 412, 400, 507) and token is not None:
            return None
        return response.parse_sync_collection()

    def _etags(self, info: CalendarInfo) -> dict[str, str]:
        response = self.client.propfind(self._url(info.path), _propfind_body("D:getetag"), depth=1)
        etags = {}
        for result in response.parse_propfind():
            path = _path(result.href)
            tag = result.properties.get(dav.GetEtag.tag)
            if path.rstrip("/") != info.path.rstrip("/") and tag:
                etags[path] = str(tag)
        return etags

    def _fetch(
        self, info: CalendarInfo, changed: list[str], removed: list[str], new_state: dict[str, Any]
    ) -> Iterator[Batch]:
        if not changed:
            yield Batch(records=[], state={info.path: new_state}, removed=removed)
            return
        chunks = [changed[i : i + CHUNK] for i in range(0, len(changed), CHUNK)]
        for n, chunk in enumerate(chunks):
            events: list[EventRecord] = []
            gone: list[str] = list(removed) if n == 0 else []
            for href, etag, data in self._multiget(info, chunk):
                if data is None:
                    gone.append(href)  # deleted since it was listed
                    continue
                try:
                    for uid, ical, parsed in reduced(data):
                        events.append(
                            EventRecord(
                                calendar=info.name,
                                href=href,
                                uid=uid,
                                ical=ical,
                                etag=etag,
                                parsed=parsed,
                            )
                        )
                except MalformedError as exc:
                    log.warning(
                        "%s: calendar %r: %s skipped: %s",
                        _where(self.settings),
                        info.name,
                        href,
                        exc,
                    )
                    gone.append(href)
            # Until the last chunk, the state names what is left to fetch, so a
            # pass stopped here resumes with the rest (and what changed since).
            todo = [h for later in chunks[n + 1 :] for h in later]
            yield Batch(
                records=[],
                events=events,
                removed=gone,
                state={info.path: {**new_state, "todo": todo} if todo else new_state},
                expected_total=len(changed),
            )

    def _multiget(
        self, info: CalendarInfo, hrefs: list[str]
    ) -> list[tuple[str, str | None, bytes | None]]:
        body = (
            '<?xml version="1.0" encoding="utf-8"?><C:calendar-multiget xmlns:D="DAV:" '
            'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/>'
            "</D:prop>"
            + "".join(f"<D:href>{_xml_text(urllib.parse.quote(h))}</D:href>" for h in hrefs)
            + "</C:calendar-multiget>"
        )
        response = self.client.report(self._url(info.path), body, depth=None)
        found: dict[str, tuple[str, str | None, bytes | None]] = {}
        for result in response.parse_calendar_query():
            path = _path(result.href)
            data = result.calendar_data
            if result.status == 404 or data is None:
                found[path] = (path, None, None)
            else:
                raw = data.encode() if isinstance(data, str) else bytes(data)
                found[path] = (path, result.etag, raw)
        return [found.get(h, (h, None, None)) for h in hrefs]

    def _url(self, path: str) -> str:
        return self._origin + urllib.parse.quote(path)


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _where(settings: CaldavSettings) -> str:
    parts = urllib.parse.urlsplit(settings.url)
    return parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else "?"


def _discover(settings: CaldavSettings, client: DAVClient) -> list[CalendarInfo]:
    path = urllib.parse.urlsplit(settings.url).path or "/"
    response = client.propfind(settings.url, _LISTING, depth=1)
    if response.status == 404:
        raise ConnectorError(f"{_where(settings)}: {path} not found on the server")
    listing = calendars_in(response.results or [], path)
    if listing:
        return listing
    # Not a home nor a calendar: ask the server where the calendars are.
    home = client.principal().calendar_home_set.url  # type: ignore[no-untyped-call]
    response = client.propfind(str(home), _LISTING, depth=1)
    return calendars_in(response.results or [], _path(str(home)))


def _tls_reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in (
        "certificate verify failed",
        "CERTIFICATE_VERIFY_FAILED",
        "self-signed",
        "unable to get local issuer",
        "hostname mismatch",
    ):
        if marker.lower() in text.lower():
            return marker
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _translate(settings: CaldavSettings, exc: BaseException) -> ConnectorError:
    where = _where(settings)
    if isinstance(exc, ConnectorError):
        return exc
    if isinstance(exc, dav_error.AuthorizationError):
        return AuthError(f"{where}: login failed for {settings.username}")
    if isinstance(exc, niquests.exceptions.SSLError):
        return TLSError(f"{where}: certificate not trusted: {_tls_reason(exc)}")
    if isinstance(exc, niquests.exceptions.Timeout | TimeoutError):
        return ConnectError(f"{where}: timed out")
    if isinstance(exc, niquests.exceptions.ConnectionError | OSError):
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        if "certificate" in reason.lower() or "ssl" in reason.lower():
            return TLSError(f"{where}: certificate not trusted: {_tls_reason(exc)}")
        return ConnectError(f"{where}: cannot connect: {_redact(reason, settings)}")
    if isinstance(exc, dav_error.DAVError | niquests.exceptions.RequestException):
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return ConnectorError(f"{where}: server error: {_redact(reason, settings)}")
    raise exc


def _redact(text: str, settings: CaldavSettings) -> str:
    parts = urllib.parse.urlsplit(settings.url)
    if parts.password:
        text = text.replace(parts.password, "***")
    return text


def _guard(settings: CaldavSettings, call: Callable[[], T]) -> T:
    try:
        return call()
    except Exception as exc:
        raise _translate(settings, exc) from None


def _guard_iter(settings: CaldavSettings, make: Callable[[], Iterator[Batch]]) -> Iterator[Batch]:
    try:
        yield from make()
    except Exception as exc:
        raise _translate(settings, exc) from None


def connect(settings: CaldavSettings, password: str) -> CaldavConnector:
    """Log in (one PROPFIND listing the calendars); raises a ConnectorError subclass."""
    scheme = urllib.parse.urlsplit(settings.url).scheme.lower()
    if scheme != "https" and not settings.allow_insecure:
        raise InsecureError(
            f"{settings.url}: plain http refused: use https, or set allow_insecure = true"
        )
    client = DAVClient(
        url=settings.url,
        username=settings.username,
        password=password,
        auth_type="basic",
        timeout=settings.timeout,  # type: ignore[arg-type]  # niquests takes floats
        ssl_verify_cert=os.path.expanduser(settings.ca_file) if settings.ca_file else True,
        require_tls=scheme == "https",
        enable_rfc6764=False,
    )
    try:
        listing = _guard(settings, lambda: _discover(settings, client))
    except ConnectorError:
        client.close()
        raise
    return CaldavConnector(settings, client, listing)
