"""The IMAP connector (imapclient): folders, incremental UID sync, header fetch.

* TLS or STARTTLS with certificate verification, always; plain text only when
  the settings say ``allow_insecure = true``.
* Folders by SPECIAL-USE flags, then by the usual names. On a server with an
  ``\\All`` folder (Gmail) only that folder is read, and its X-GM-LABELS tell
  drafts and sent mail apart, so each message is fetched once.
* State per folder is ``{"uidvalidity", "last_uid"}``. A STATUS per folder
  tells whether anything arrived; a poll where nothing did costs no SELECT and
  no FETCH. A changed UIDVALIDITY re-reads the folder (the store's dedupe keys
  keep that from counting anything twice).
* Only the header fields the rules need are fetched (``BODY.PEEK[HEADER.FIELDS
  (...)]`` + INTERNALDATE), in UID ranges, so memory stays flat however large
  the mailbox is.
"""

from __future__ import annotations

import ast
import contextlib
import logging
import re
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import imapclient
import imapclient.exceptions
from imapclient.datetime_util import parse_to_datetime
from imapclient.response_parser import parse_fetch_response

from connectors.base import (
    HEADER_FIELDS,
    AuthError,
    Batch,
    ConnectError,
    ConnectorError,
    FolderRole,
    HeaderRecord,
    InsecureError,
    SyncState,
    TLSError,
    timeout_seconds,
)
from connectors.imap_settings import ImapSettings as ImapSettings

BATCH_SIZE = 500
#: How far an empty UID range may widen over sparse UIDs. imapclient 4 takes
#: explicit UID lists only (it drops "a:b" ranges), so this bounds the command.
_MAX_STEP = 4_000

_SPECIAL_USE = {
    b"\\Sent": FolderRole.SENT,
    b"\\Drafts": FolderRole.DRAFTS,
    b"\\Junk": FolderRole.JUNK,
    b"\\Trash": FolderRole.TRASH,
}
_NAMES = {
    FolderRole.SENT: {"sent", "sent items", "sent messages", "sent mail", "gesendet"},
    FolderRole.DRAFTS: {"drafts", "draft", "entwürfe"},
    FolderRole.JUNK: {"junk", "spam", "junk e-mail", "junk email", "bulk mail"},
    FolderRole.TRASH: {"trash", "deleted items", "deleted messages", "bin", "papierkorb"},
}
_GMAIL_LABELS = {
    "\\Draft": FolderRole.DRAFTS,
    "\\Spam": FolderRole.JUNK,
    "\\Trash": FolderRole.TRASH,
    "\\Sent": FolderRole.SENT,
}
_FETCH_HEADERS = "BODY.PEEK[HEADER.FIELDS ({})]".format(" ".join(f.upper() for f in HEADER_FIELDS))


@dataclass(frozen=True)
class Folder:
    name: str
    role: FolderRole
    gmail_all: bool = False  # Gmail's "All Mail": roles come from X-GM-LABELS


def folder_role(flags: Sequence[bytes], name: str, delimiter: str | None) -> FolderRole:
    """A folder's role from its SPECIAL-USE flags, else from its name."""
    for flag in flags:
        if role := _SPECIAL_USE.get(flag):
            return role
    leaf = name.rsplit(delimiter, 1)[-1] if delimiter else name
    leaf = leaf.strip().lower()
    for role, names in _NAMES.items():
        if leaf in names:
            return role
    return FolderRole.NORMAL


def choose_folders(
    listing: Sequence[tuple[Sequence[bytes], Any, str]], wanted: Sequence[str] | None
) -> list[Folder]:
    """Which folders to read, from a LIST response ``(flags, delimiter, name)``.

    Configured folders are read as given (a configured Drafts still never
    counts). Otherwise: Gmail's ``\\All`` folder alone if there is one, else
    every selectable folder except drafts, junk and trash.
    """
    found: dict[str, Folder] = {}
    for flags, delimiter, name in listing:
        if b"\\Noselect" in flags or b"\\NonExistent" in flags:
            continue
        delim = delimiter.decode() if isinstance(delimiter, bytes) else delimiter
        if b"\\All" in flags:
            found[name] = Folder(name, FolderRole.NORMAL, gmail_all=True)
        else:
            found[name] = Folder(name, folder_role(flags, name, delim))
    if wanted is not None:
        missing = [w for w in wanted if w not in found]
        if missing:
            raise ConnectorError(f"no folder named {missing[0]!r} on the server")
        return [found[w] for w in wanted]
    all_mail = [f for f in found.values() if f.gmail_all]
    if all_mail:
        return all_mail[:1]
    return [f for f in found.values() if f.role.counts]


def _labels_role(labels: Sequence[Any]) -> FolderRole:
    names = {lab.decode() if isinstance(lab, bytes) else str(lab) for lab in labels}
    for label, role in _GMAIL_LABELS.items():  # drafts, spam, trash win over sent
        if label in names:
            return role
    return FolderRole.NORMAL


def _header_bytes(data: dict[bytes, Any]) -> bytes:
    for key, value in data.items():
        if key.startswith(b"BODY[HEADER.FIELDS"):
            return value or b""
    return b""


#: A Python bytes literal as imaplib puts it into its messages: b'...' or b"...",
#: alone or in a one-item list ("[b'...']").
_BYTES_REPR = re.compile(r"""\[?b(?P<q>['"])(?P<text>(?:\\.|(?!(?P=q)).)*)(?P=q)\]?""")
_MAX_TEXT = 300  # characters of server text shown to the user


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _literal(match: re.Match[str]) -> str:
    try:
        value = ast.literal_eval("b" + match["q"] + match["text"] + match["q"])
    except (SyntaxError, ValueError):
        return match[0]
    return _decode(value) if isinstance(value, bytes) else match[0]


def server_text(exc: BaseException | bytes | str) -> str:
    """A server's response text (or an error carrying it) as one printable line.

    imaplib and imapclient put the server's bytes into their messages as Python
    reprs (``b'[AUTHENTICATIONFAILED] Authentication failed.'``); this decodes
    them, replaces control characters (the text comes from the server) and cuts
    it to a sane length.
    """
    raw: bytes | str = exc if isinstance(exc, bytes | str) else str(exc)
    args = exc.args if isinstance(exc, BaseException) else ()
    if len(args) == 1 and isinstance(args[0], bytes | str):
        raw = args[0]
    text = _decode(raw) if isinstance(raw, bytes) else _BYTES_REPR.sub(_literal, raw)
    text = "".join(c if c.isprintable() else " " for c in text)
    text = " ".join(text.split())
    if len(text) > _MAX_TEXT:
        text = text[: _MAX_TEXT - 1] + "…"
    return text or "no reason given"


def _tls_message(exc: ssl.SSLError) -> str:
    return getattr(exc, "verify_message", None) or exc.reason or str(exc)


class ImapConnector:
    """A logged-in IMAP session; see the module docstring."""

    def __init__(self, settings: ImapSettings, client: imapclient.IMAPClient) -> None:
        self.settings = settings
        self.client = client
        self._broken = False  # timed out: the session is in an unknown state

    def __enter__(self) -> ImapConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._broken:  # a LOGOUT would only wait for the timeout again
            with contextlib.suppress(Exception):
                self.client.shutdown()
            return
        try:
            self.client.logout()
        except Exception:  # the connection may already be gone
            with contextlib.suppress(Exception):
                self.client.shutdown()

    def folders(self) -> list[Folder]:
        return choose_folders(self.client.list_folders(), self.settings.folders)

    def batches(self, state: SyncState) -> Iterator[Batch]:
        try:
            yield from self._batches(state)
        except TimeoutError:
            self._broken = True
            raise ConnectError(
                f"{self.settings.host}: timed out: "
                f"{_waited(timeout_seconds(self.settings.timeout))}"
            ) from None
        except (OSError, imapclient.exceptions.IMAPClientAbortError) as exc:
            raise ConnectError(
                f"{self.settings.host}: connection lost: {server_text(exc)}"
            ) from exc
        except imapclient.exceptions.IMAPClientError as exc:
            raise ConnectorError(f"{self.settings.host}: server error: {server_text(exc)}") from exc

    def _batches(self, state: SyncState) -> Iterator[Batch]:
        plan: list[tuple[Folder, int, int, int]] = []  # folder, uidvalidity, first uid, uidnext
        for folder in self.folders():
            status = self.client.folder_status(folder.name, [b"UIDVALIDITY", b"UIDNEXT"])
            validity, uidnext = int(status[b"UIDVALIDITY"]), int(status[b"UIDNEXT"])
            saved = state.get(folder.name) or {}
            first = 1
            if saved.get("uidvalidity") == validity:
                first = int(saved.get("last_uid", 0)) + 1
            if first < uidnext:
                plan.append((folder, validity, first, uidnext))
        expected = sum(uidnext - first for _, _, first, uidnext in plan)
        for folder, validity, first, uidnext in plan:
            yield from self._read_folder(folder, validity, first, uidnext, expected)

    def _read_folder(
        self, folder: Folder, validity: int, first: int, uidnext: int, expected: int
    ) -> Iterator[Batch]:
        selected = self.client.select_folder(folder.name, readonly=True)
        if int(selected.get(b"UIDVALIDITY", validity)) != validity:
            return  # changed between STATUS and SELECT: the next pass starts over
        # SELECT's UIDNEXT is fresher than STATUS's; not every server sends it.
        last = int(selected.get(b"UIDNEXT", uidnext)) - 1
        items = [_FETCH_HEADERS, "INTERNALDATE"]
        if folder.gmail_all:
            items.append("X-GM-LABELS")
        fetch = _Pipeline(self.client, "(" + " ".join(items) + ")")
        try:
            # One UID FETCH is always in flight ahead of the batch being handed
            # out: the server reads the next range while this one is parsed,
            # ruled and stored. Only this generator touches the socket.
            low, step = first, BATCH_SIZE
            if low <= last:
                fetch.send(low, min(low + step - 1, last))
            while low <= last:
                high = min(low + step - 1, last)
                data = fetch.receive()
                step = BATCH_SIZE if data else min(step * 2, _MAX_STEP)
                if high < last:
                    fetch.send(high + 1, min(high + step, last))
                records = _records(data, folder, low, high, self.client.normalise_times)
                yield Batch(
                    records=records,
                    state={folder.name: {"uidvalidity": validity, "last_uid": high}},
                    expected_total=expected,
                )
                low = high + 1
        finally:
            fetch.drain()


class _Pipeline:
    """UID FETCH commands sent ahead of reading their responses (at most one pending).

    imapclient's ``fetch`` sends a command and waits for its end; here the
    next range's command goes out before the current one is handed on, so the
    server works while the client parses. Responses arrive in command order,
    each ending with its tagged completion, so untagged FETCH data never mixes.
    """

    def __init__(self, client: imapclient.IMAPClient, items: str) -> None:
        self.imap = client._imap
        self.items = items
        self.pending: list[str] = []
        # imapclient turns imaplib's protocol trace on (debug 5, into its logger): a
        # call per response line even when that logger drops them. Off while
        # fetching unless someone is listening.
        self.debug = self.imap.debug
        if not logging.getLogger("imapclient.imaplib").isEnabledFor(logging.DEBUG):
            self.imap.debug = 0

    def send(self, low: int, high: int) -> None:
        self.pending.append(self.imap._command("UID", "FETCH", f"{low}:{high}", self.items))

    def receive(self) -> list[Any]:
        """The oldest pending command's untagged FETCH data (imaplib's raw form)."""
        tag = self.pending.pop(0)
        typ, data = self.imap._command_complete("FETCH", tag)
        if typ != "OK":
            raise imapclient.exceptions.IMAPClientError(
                f"FETCH failed: {server_text(data[0])}" if data else "FETCH failed"
            )
        found = self.imap._untagged_response(typ, data, "FETCH")[1]
        return [] if found == [None] else found  # imaplib's "no FETCH response"

    def drain(self) -> None:
        """Read and drop the answers to commands still pending (a stop between batches)."""
        while self.pending:
            with contextlib.suppress(Exception):
                self.receive()
                continue
            self.pending.clear()  # the connection is gone: nothing left to read
        self.imap.debug = self.debug


def _records(
    data: list[Any], folder: Folder, low: int, high: int, normalise_times: bool
) -> list[HeaderRecord]:
    """HeaderRecords from one FETCH response, in UID order, within ``low..high``.

    The usual response shape is read directly (:func:`_fast_records`); anything
    else (Gmail labels, a quoted or NIL header block, items it does not know)
    goes through imapclient's full parser.
    """
    if not folder.gmail_all and (fast := _fast_records(data, folder, low, high)) is not None:
        return fast
    return _parsed_records(data, folder, low, high, normalise_times)


#: ``N (UID u INTERNALDATE "..." BODY[HEADER.FIELDS (...)] {size}``: imaplib's line before
#: the literal; group 1 is what precedes the header block, group 2 the literal's size.
_LITERAL_LINE = re.compile(rb"\d+ \((.*)BODY\[HEADER\.FIELDS \([^)]*\)\] \{(\d+)\}\Z", re.S)
_UID = re.compile(rb"(?:\A|[ (])UID (\d+)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]*)"')
_MONTHS = {
    m: n
    for n, m in enumerate(
        (
            b"Jan",
            b"Feb",
            b"Mar",
            b"Apr",
            b"May",
            b"Jun",
            b"Jul",
            b"Aug",
            b"Sep",
            b"Oct",
            b"Nov",
            b"Dec",
        ),
        1,
    )
}
_ZONES: dict[bytes, timezone] = {}


def _fast_records(
    data: list[Any], folder: Folder, low: int, high: int
) -> list[HeaderRecord] | None:
    """The records of a response in the usual shape, or None to let imapclient parse it.

    imaplib hands a FETCH response with one literal as ``(line, literal)`` then the
    rest of the line (``b")"``); a response without a literal (an unsolicited
    FLAGS update) as bytes alone.
    """
    found: dict[int, HeaderRecord] = {}
    entries = iter(data)
    for entry in entries:
        if isinstance(entry, bytes):
            if b"BODY[" in entry:
                return None  # a header block sent quoted or as NIL
            continue
        if not isinstance(entry, tuple) or len(entry) != 2:
            return None
        line, literal = entry
        rest = next(entries, b"")
        if not isinstance(rest, bytes) or not isinstance(literal, bytes):
            return None  # a second literal
        match = _LITERAL_LINE.match(line)
        if match is None or int(match.group(2)) != len(literal):
            return None
        meta = match.group(1) + b" " + rest
        uid_match = _UID.search(meta)
        if uid_match is None:
            return None
        uid = int(uid_match.group(1))
        if uid in found:
            return None
        if not low <= uid <= high:
            continue
        date_match = _INTERNALDATE.search(meta)
        found[uid] = HeaderRecord(
            headers=literal,
            server_time=_internaldate(date_match.group(1)) if date_match else None,
            folder=folder.name,
            role=folder.role,
            uid=str(uid),
        )
    return [found[uid] for uid in sorted(found)]


def _internaldate(raw: bytes) -> datetime | None:
    """``"dd-Mon-yyyy hh:mm:ss +zzzz"`` -> an aware datetime; None if unreadable."""
    try:
        day, month, rest = raw.split(b"-", 2)
        year, clock, zone = rest.split(b" ")
        hour, minute, second = clock.split(b":")
        tz = _ZONES.get(zone)
        if tz is None:
            if len(zone) != 5 or zone[:1] not in (b"+", b"-") or not zone[1:].isdigit():
                raise ValueError(zone)
            offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
            tz = _ZONES.setdefault(zone, timezone(-offset if zone[:1] == b"-" else offset))
        return datetime(
            int(year),
            _MONTHS[month.capitalize()],
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=tz,
        )
    except (ValueError, KeyError):
        try:
            parsed = parse_to_datetime(raw, normalise=False)
        except (ValueError, TypeError):
            return None
        return parsed if isinstance(parsed, datetime) else None


def _parsed_records(
    data: list[Any], folder: Folder, low: int, high: int, normalise_times: bool
) -> list[HeaderRecord]:
    response = parse_fetch_response(data, normalise_times, True)
    records = []
    for uid in sorted(response):
        if not low <= uid <= high:
            continue
        item = response[uid]
        role = folder.role
        if folder.gmail_all:
            role = _labels_role(item.get(b"X-GM-LABELS", ()))
        server_time = item.get(b"INTERNALDATE")
        records.append(
            HeaderRecord(
                headers=_header_bytes(item),
                server_time=server_time if isinstance(server_time, datetime) else None,
                folder=folder.name,
                role=role,
                uid=str(uid),
            )
        )
    return records


def _waited(timeout: float) -> str:
    return f"no answer within {timeout:g} s (timeout)"


def _connect_error(exc: Exception, where: str, timeout: float) -> ConnectError:
    """The one line for a failure to connect (TCP, TLS, greeting, STARTTLS)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TLSError(f"{where}: certificate not trusted: {_tls_message(exc)}")
    if isinstance(exc, ssl.SSLError):
        return TLSError(f"{where}: TLS failed: {_tls_message(exc)}")
    if isinstance(exc, TimeoutError):
        step = "in the TLS handshake" if "handshake" in str(exc) else "connecting"
        return ConnectError(f"{where}: timed out {step}: {_waited(timeout)}")
    reason = getattr(exc, "strerror", None) or server_text(exc)
    return ConnectError(f"{where}: cannot connect: {reason}")


def _login(client: imapclient.IMAPClient, username: str, password: str, where: str) -> None:
    """LOGIN, or AUTHENTICATE PLAIN in UTF-8 when the credentials are not ASCII.

    IMAP's LOGIN command carries only ASCII (imaplib raises an error quoting
    the offending character); SASL PLAIN carries UTF-8 (RFC 4616). Nothing of
    the secret is ever put in an error.
    """
    if username.isascii() and password.isascii():
        client.login(username, password)
        return
    if not client.has_capability("AUTH=PLAIN"):
        raise AuthError(
            f"{where}: the password (or user name) has non-ASCII characters and the server "
            "does not offer AUTHENTICATE PLAIN, the only way to send them; "
            "use an ASCII (app) password"
        )
    try:
        client.plain_login(username, password)
    except UnicodeError:
        raise AuthError(f"{where}: the credentials cannot be sent as UTF-8") from None


def connect(settings: ImapSettings, password: str) -> ImapConnector:
    """Connect and log in; raises a ConnectorError subclass with a one-line reason."""
    if settings.security == "plain" and not settings.allow_insecure:
        raise InsecureError("plain-text IMAP refused: set allow_insecure = true to allow it")
    context = ssl.create_default_context()
    if settings.ca_file:
        try:
            context.load_verify_locations(cafile=settings.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConnectorError(f"ca_file {settings.ca_file}: cannot load: {exc}") from None
    tls = settings.security == "tls"
    port = settings.port or (993 if tls else 143)
    where = f"{settings.host}:{port}"
    # One timeout bounds each step: the TCP connect, the TLS handshake, the
    # greeting (imapclient applies it to the socket before the greeting is read),
    # then every read and write of STARTTLS, LOGIN and each command.
    timeout = timeout_seconds(settings.timeout)
    try:
        client = imapclient.IMAPClient(
            settings.host, port=port, ssl=tls, ssl_context=context, timeout=timeout
        )
    except (OSError, imapclient.exceptions.IMAPClientError) as exc:
        raise _connect_error(exc, where, timeout) from None
    if settings.security == "starttls":
        try:
            client.starttls(context)
        except (OSError, imapclient.exceptions.IMAPClientError) as exc:
            with contextlib.suppress(Exception):
                client.shutdown()
            raise _connect_error(exc, where, timeout) from None
    client.normalise_times = False  # keep INTERNALDATE timezone-aware
    try:
        _login(client, settings.username, password, where)
    except AuthError:
        client.shutdown()
        raise
    except imapclient.exceptions.LoginError as exc:
        client.shutdown()
        raise AuthError(
            f"{where}: login failed for {settings.username}: {server_text(exc)}"
        ) from None
    except TimeoutError:
        client.shutdown()
        raise ConnectError(f"{where}: timed out logging in: {_waited(timeout)}") from None
    except (OSError, imapclient.exceptions.IMAPClientError) as exc:
        client.shutdown()
        raise ConnectError(f"{where}: login aborted: {server_text(exc)}") from None
    return ImapConnector(settings, client)
