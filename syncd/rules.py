"""The product's definition of a contact: HeaderRecord -> Interactions.

Pure functions, no I/O. The rules (documented in README.md):

* Drafts, junk and trash never count.
* Sent: From is one of my identities (or the message sits in a Sent folder)
  -> one "sent" interaction for every other address in To, Cc and Bcc.
* Received: From is someone else -> one "received" interaction with the From
  address only, unless the message is bulk or automated (List-Id or
  List-Unsubscribe present, Precedence bulk/list/junk, Auto-Submitted other
  than "no"). Cc-only addresses of a received message do not count.
* A message's time is its Date header, unless that is missing, unparseable or
  more than a day later than the server's received time: then the server time.
* The dedupe key is the Message-ID, else a hash of From + Date + Subject, so a
  message seen in several folders or accounts counts once.
"""

from __future__ import annotations

import email.utils
import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from connectors.base import FolderRole, HeaderRecord
from syncd.addresses import clean, decode_words, normalize, parse_list
from syncd.model import Direction, Interaction

_BULK_PRECEDENCE = {"bulk", "list", "junk"}
_DATE_SLACK = timedelta(days=1)
_SUBJECT_MAX = 500
_FOLDER_MAX = 500  # the widths of the store's columns
_MESSAGE_ID_MAX = 900  # RFC 5322 lines hold 998 octets; longer is garbage (hash key instead)


def identities(addresses: Iterable[str]) -> frozenset[str]:
    """My own addresses, normalised; invalid ones are ignored."""
    return frozenset(n for a in addresses if (n := normalize(a)) is not None)


def _fields(raw: bytes) -> dict[str, list[str]]:
    """Header name (lower case) -> values, unfolded; 8-bit bytes read as UTF-8.

    The block holds only the few fields connectors fetch, so a plain split is
    all it takes; it is the hot path of a first sync, several times faster
    than the stdlib's feed parser. Folded lines are collected and joined once
    (linear in the block, however many continuation lines a value has). Values
    are raw: RFC 2047 words are decoded later, after an address list is parsed.
    A bare CR is a line break like CRLF and LF; NULs and lone surrogates never
    get this far (see :func:`syncd.addresses.clean`).
    """
    text = clean(raw.decode("utf-8", "replace"))
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    fields: dict[str, list[str]] = {}
    parts: list[str] | None = None  # the lines of the value being read
    names: list[str] = []
    values: list[list[str]] = []
    for line in text.split("\n"):
        if not line:
            if values:
                break  # the end of the header block
            continue  # leading blank lines
        if line.isspace():
            continue  # a whitespace-only line is folding white space, never the end
        if line[0] in " \t":
            if parts is not None:  # a folded continuation line
                parts.append(line)
            continue
        name, colon, value = line.partition(":")
        if not colon:
            parts = None  # not a header line: skip it and its continuations
            continue
        parts = [value]
        names.append(name.strip().lower())
        values.append(parts)
    for name, lines in zip(names, values, strict=True):
        fields.setdefault(name, []).append(" ".join(" ".join(lines).split()))
    return fields


def _first(fields: dict[str, list[str]], name: str) -> str:
    """The first value of a field, raw (undecoded), or ''."""
    return fields.get(name, [""])[0]


def _text(value: str) -> str:
    """A header value as text: RFC 2047 decoded, whitespace folded."""
    return " ".join(decode_words(value).split())


def message_time(date_header: str | None, server_time: datetime | None) -> datetime | None:
    """The Date header, or the server time where Date is missing or implausible."""
    server = server_time.astimezone(UTC) if server_time is not None else None
    at: datetime | None = None
    if date_header:
        try:
            at = email.utils.parsedate_to_datetime(date_header)
            if at is not None:
                at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        except (TypeError, ValueError, IndexError, OverflowError):
            at = None
    if at is None or (server is not None and at > server + _DATE_SLACK):
        return server
    return at


def is_bulk(fields: dict[str, list[str]]) -> bool:
    """Mailing lists, newsletters and machine-sent mail."""
    if "list-id" in fields or "list-unsubscribe" in fields:
        return True
    if _text(_first(fields, "precedence")).lower() in _BULK_PRECEDENCE:
        return True
    auto = _text(_first(fields, "auto-submitted")).split(";")[0].strip().lower()
    return bool(auto) and auto != "no"


def _message_id(raw: str) -> str | None:
    """The ``<...>`` part of a Message-ID header; None when absent or too long to be one."""
    raw = raw.strip()
    start = raw.find("<")
    end = raw.find(">", start + 1) if start >= 0 else -1
    if end >= 0:
        raw = raw[start : end + 1]
    return raw if 0 < len(raw) <= _MESSAGE_ID_MAX else None


def dedupe_key(message_id: str | None, sender: str, date: str, subject: str) -> str:
    """Message-ID when there is one, else a digest of From + Date + Subject."""
    if message_id:
        return "mid:" + message_id
    digest = hashlib.sha256("\0".join((sender, date, subject)).encode()).hexdigest()
    return "hdr:" + digest[:40]


def interactions(
    record: HeaderRecord, me: frozenset[str], *, keep_subjects: bool = True
) -> list[Interaction]:
    """Everything one message means, per the rules in the module docstring."""
    if not record.role.counts:
        return []
    fields = _fields(record.headers)
    senders = parse_list(_first(fields, "from"))
    sender = senders[0][1] if senders else ""
    from_me = sender in me or record.role is FolderRole.SENT
    if not from_me and (not sender or is_bulk(fields)):
        return []

    date_raw = _first(fields, "date")
    at = message_time(date_raw, record.server_time)
    if at is None:
        return []
    subject = _text(_first(fields, "subject"))
    message_id = _message_id(_first(fields, "message-id"))
    key = dedupe_key(message_id, sender, date_raw, subject)

    if from_me:
        direction = Direction.SENT
        recipients = [
            pair
            for field in ("to", "cc", "bcc")
            for value in fields.get(field, [])
            for pair in parse_list(value)
        ]
    else:
        direction = Direction.RECEIVED
        recipients = senders[:1]

    seen: set[str] = set()
    result = []
    for name, address in recipients:
        if address in me or address in seen:
            continue
        seen.add(address)
        result.append(
            Interaction(
                address=address,
                name=name,
                direction=direction,
                at=at,
                dedupe_key=key,
                message_id=message_id,
                subject=subject[:_SUBJECT_MAX] if keep_subjects else None,
                folder=clean(record.folder)[:_FOLDER_MAX],
            )
        )
    return result
