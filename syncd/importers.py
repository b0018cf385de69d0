"""Reading address books into contact drafts: vCard, Google Contacts CSV, LinkedIn CSV.

Owns file decoding, format detection and parsing; it writes nothing (the
store merges the drafts, in one transaction). A file that does not parse is
rejected as a whole with :class:`ImportFileError`, whose message names the
file and the line.

* vCard 2.1/3.0/4.0 (``.vcf``): several cards per file, folded lines,
  quoted-printable and charsets, any number of EMAIL lines; parsed with
  vobject. The name is FN, else N, else ORG.
* Google Contacts CSV: both the current export (``First Name``, ``Middle
  Name``, ``Last Name``, ``E-mail 1 - Label``, ``E-mail 1 - Value``...) and
  the older one (``Name``, ``Given Name``, ``Family Name``, ``E-mail 1 -
  Type``...). A cell may hold several addresses separated by ``:::``.
* LinkedIn ``Connections.csv``: a few ``Notes:`` lines before the header
  ``First Name,Last Name,URL,Email Address,Company,Position,Connected On``;
  most connections have no address and become contacts without one.

Files are read as UTF-8 (a BOM is honoured, UTF-16 with a BOM too); a
malformed e-mail address does not reject the file: the contact is kept
without it and a warning says so.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from syncd.addresses import normalize
from syncd.errors import WeaktiesError
from syncd.model import name_problem

if TYPE_CHECKING:
    import vobject.base

FORMATS = ("vcard", "google", "linkedin")
_LINKEDIN_HEADER = ("First Name", "Last Name", "Email Address")
_GOOGLE_EMAIL = re.compile(r"^E-mail \d+ - Value$")


class ImportFileError(WeaktiesError):
    """The file cannot be imported; the message is one line naming file and line."""


@dataclass(frozen=True)
class Card:
    """One contact as found in the file."""

    name: str
    emails: list[str]  # valid addresses only, as written
    line: int  # where the entry starts


@dataclass
class Parsed:
    format: str
    cards: list[Card] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # "line 12: ..." notes


def _add_card(parsed: Parsed, name: str, emails: list[str], line: int) -> None:
    """Keep one entry, unless its name is unusable (see ``syncd.model.name_problem``)."""
    problem = name_problem(name) if name else None
    if problem is not None:
        parsed.warnings.append(f"line {line}: {problem}; entry left out")
        return
    parsed.cards.append(Card(name, emails, line))


def read(path: Path, fmt: str | None = None) -> Parsed:
    """Parse ``path`` in ``fmt`` (default: detected); raises ImportFileError.

    The file is streamed: read line by line, one vCard (or CSV row) at a time,
    so memory holds the cards found, not the file.
    """
    try:
        with path.open("rb") as file:
            lines = _text_lines(file, path)
            head = list(itertools.islice(lines, _HEAD_LINES))
            fmt = fmt or detect(path, head)
            parser = {"vcard": _vcard, "google": _google, "linkedin": _linkedin}[fmt]
            parsed = Parsed(fmt)
            try:
                parser(itertools.chain(head, lines), parsed)
            except _LineError as exc:
                raise ImportFileError(f"{path}: line {exc.line}: {exc.message}") from None
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read: {exc.strerror}") from None
    return parsed


def detect(path: Path, head: list[str]) -> str:
    """The format from the content first (vCard, LinkedIn, Google headers), then the name.

    ``head`` is the file's first lines (:data:`_HEAD_LINES` of them, or all).
    """
    if "".join(head).lstrip()[:200].upper().startswith("BEGIN:VCARD"):
        return "vcard"
    lines = [line.rstrip("\r\n") for line in head]
    if _linkedin_header_index(lines) is not None:
        return "linkedin"
    if lines and any(_GOOGLE_EMAIL.match(h.strip()) for h in _row(lines[0])):
        return "google"
    if path.suffix.lower() in (".vcf", ".vcard"):
        return "vcard"
    raise ImportFileError(
        f"{path}: not a vCard, Google Contacts CSV or LinkedIn Connections.csv "
        "(use --format to say which)"
    )


# --- helpers -------------------------------------------------------------------

#: Lines read ahead to recognise the format (LinkedIn's header comes after a few notes).
_HEAD_LINES = 30


class _LineError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


def _text_lines(file: BinaryIO, path: Path) -> Iterator[str]:
    """The file's lines as text, line endings kept (for the CSV reader), one at a time.

    UTF-8 (a BOM is dropped) is decoded line by line, so a byte that is not
    UTF-8 is reported with its line; UTF-16 (with a BOM) is decoded whole.
    """
    start = file.read(2)
    if start in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        try:
            text = (start + file.read()).decode("utf-16")
        except UnicodeDecodeError:
            raise ImportFileError(f"{path}: not valid UTF-16") from None
        yield from io.StringIO(text, newline="")
        return
    file.seek(0)
    for number, raw in enumerate(file, 1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ImportFileError(
                f"{path}: line {number}: not UTF-8 text (save the file as UTF-8)"
            ) from None
        if "\r" in line[:-2]:  # old Mac line endings: lines of their own
            yield from line.splitlines(keepends=True)
        else:
            yield line


def _row(line: str) -> list[str]:
    try:
        return next(csv.reader([line]), [])
    except csv.Error:
        return []


def _clip(text: str, size: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 3] + "..."


def _addresses(values: list[str], line: int, parsed: Parsed) -> list[str]:
    """The valid addresses among ``values``, each once, in order (linear in their number)."""
    found: dict[str, None] = {}
    for value in values:
        for part in value.split(":::"):
            part = part.strip()
            if not part:
                continue
            if normalize(part) is None:
                parsed.warnings.append(f"line {line}: {part!r} is not an e-mail address, left out")
            else:
                found.setdefault(part)
    return list(found)


# --- vCard ---------------------------------------------------------------------


def _vcard(lines: Iterable[str], parsed: Parsed) -> None:
    """Cut the stream into cards (BEGIN:VCARD .. END:VCARD) and parse each on its own."""
    card: list[str] = []
    start = depth = cards = 0
    for number, line in enumerate(lines, 1):
        key = line.strip().upper()
        if depth == 0:
            if not key:
                continue
            if key != "BEGIN:VCARD":
                raise _LineError(number, f"expected BEGIN:VCARD, found {_clip(line)!r}")
            start = number
        if not line[:1].isspace():  # a folded line is never BEGIN or END
            if key.startswith("BEGIN:"):
                depth += 1
            elif key.startswith("END:"):
                depth -= 1
        card.append(line.rstrip("\r\n") + "\r\n")  # any line ending, as CRLF
        if depth == 0:
            _vcard_card("".join(card), start, parsed)
            card = []
            cards += 1
    if card:
        _vcard_card("".join(card), start, parsed)  # never closed: vobject says so
    elif not cards:
        raise _LineError(1, "no vCard in the file (expected BEGIN:VCARD)")


def _vcard_card(text: str, start: int, parsed: Parsed) -> None:
    """One card's text (from line ``start`` of the file) -> a Card."""
    import vobject  # only for vCards: it costs every command start-up time
    import vobject.base

    try:
        card = vobject.readOne(text, allowQP=True)
    except vobject.base.VObjectError as exc:
        line = start - 1 + max(int(getattr(exc, "lineNumber", None) or 1), 1)
        message = getattr(exc, "msg", None) or str(exc)
        raise _LineError(line, f"not a valid vCard: {_clip(message)}") from None
    except (ValueError, TypeError, UnicodeError, StopIteration) as exc:
        raise _LineError(start, f"not a valid vCard: {exc}") from None
    if card.name != "VCARD":
        raise _LineError(start, f"expected BEGIN:VCARD, found BEGIN:{card.name}")
    emails = _addresses([str(e.value) for e in card.contents.get("email", [])], start, parsed)
    _add_card(parsed, _vcard_name(card), emails, start)


def _vcard_name(card: vobject.base.Component) -> str:
    for fn in card.contents.get("fn", []):
        if str(fn.value).strip():
            return " ".join(str(fn.value).split())
    for n in card.contents.get("n", []):
        value = n.value
        parts = [
            getattr(value, a, "") for a in ("prefix", "given", "additional", "family", "suffix")
        ]
        words = " ".join(" ".join(p) if isinstance(p, list) else str(p) for p in parts)
        if words.strip():
            return " ".join(words.split())
    for org in card.contents.get("org", []):
        value = org.value
        words = " ".join(value) if isinstance(value, list) else str(value)
        if words.strip():
            return " ".join(words.split())
    return ""


# --- CSV -----------------------------------------------------------------------


def _csv_table(
    lines: Iterable[str], first_line: int
) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """The header, and the rows after it as dicts with their starting line; strict on shape.

    Streaming: rows are read as they are asked for.
    """
    reader = csv.reader(lines, strict=True)
    header: list[str] | None = None
    consumed = 0
    try:
        for fields in reader:
            consumed = reader.line_num
            if any(f.strip() for f in fields):
                header = [h.strip() for h in fields]
                break
    except csv.Error as exc:
        raise _LineError(first_line + reader.line_num - 1, f"malformed CSV: {exc}") from None
    if header is None:
        raise _LineError(first_line, "no header line")

    def rows(header: list[str]) -> Iterator[tuple[int, dict[str, str]]]:
        nonlocal consumed
        try:
            for fields in reader:
                line = first_line + consumed
                consumed = reader.line_num
                if not any(f.strip() for f in fields):
                    continue
                if len(fields) != len(header):
                    raise _LineError(
                        line, f"{len(fields)} fields where the header has {len(header)}"
                    )
                yield line, dict(zip(header, fields, strict=True))
        except csv.Error as exc:
            raise _LineError(first_line + reader.line_num - 1, f"malformed CSV: {exc}") from None

    return header, rows(header)


def _join(*parts: str | None) -> str:
    return " ".join(" ".join(p.split()) for p in parts if p and p.strip())


def _google(lines: Iterable[str], parsed: Parsed) -> None:
    header, rows = _csv_table(lines, 1)
    email_columns = [h for h in header if _GOOGLE_EMAIL.match(h)]
    if not email_columns:
        raise _LineError(1, "not a Google Contacts CSV (no 'E-mail 1 - Value' column)")
    for line, row in rows:
        name = (
            row.get("Name", "").strip()
            or _join(row.get("First Name"), row.get("Middle Name"), row.get("Last Name"))
            or _join(row.get("Given Name"), row.get("Additional Name"), row.get("Family Name"))
            or _join(row.get("Nickname"))
            or _join(row.get("Organization Name"), row.get("Organization 1 - Name"))
        )
        emails = _addresses([row.get(c, "") for c in email_columns], line, parsed)
        if name or emails:
            _add_card(parsed, name, emails, line)


def _linkedin_header_index(lines: list[str]) -> int | None:
    for index, line in enumerate(lines[:_HEAD_LINES]):
        fields = [f.strip() for f in _row(line)]
        if all(h in fields for h in _LINKEDIN_HEADER):
            return index
    return None


def _linkedin(lines: Iterable[str], parsed: Parsed) -> None:
    stream = iter(lines)
    head = list(itertools.islice(stream, _HEAD_LINES))
    index = _linkedin_header_index([ln.rstrip("\r\n") for ln in head])
    if index is None:
        raise _LineError(
            1,
            "not a LinkedIn Connections.csv (no header 'First Name,Last Name,"
            "URL,Email Address,...')",
        )
    _, rows = _csv_table(itertools.chain(head[index:], stream), index + 1)
    for line, row in rows:
        name = _join(row.get("First Name"), row.get("Last Name"))
        emails = _addresses([row.get("Email Address", "")], line, parsed)
        if name or emails:
            _add_card(parsed, name, emails, line)
