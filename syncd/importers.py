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
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from syncd.addresses import normalize
from syncd.model import name_problem

if TYPE_CHECKING:
    import vobject.base

FORMATS = ("vcard", "google", "linkedin")
_LINKEDIN_HEADER = ("First Name", "Last Name", "Email Address")
_GOOGLE_EMAIL = re.compile(r"^E-mail \d+ - Value$")


class ImportFileError(Exception):
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
    """Parse ``path`` in ``fmt`` (default: detected); raises ImportFileError."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read: {exc.strerror}") from None
    text = _decode(raw, path)
    fmt = fmt or detect(path, text)
    parser = {"vcard": _vcard, "google": _google, "linkedin": _linkedin}[fmt]
    parsed = Parsed(fmt)
    try:
        parser(text, parsed)
    except _LineError as exc:
        raise ImportFileError(f"{path}: line {exc.line}: {exc.message}") from None
    return parsed


def detect(path: Path, text: str) -> str:
    """The format from the content first (vCard, LinkedIn, Google headers), then the name."""
    head = text.lstrip()[:200].upper()
    if head.startswith("BEGIN:VCARD"):
        return "vcard"
    lines = text.splitlines()
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


class _LineError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


def _decode(raw: bytes, path: Path) -> str:
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise ImportFileError(f"{path}: not valid UTF-16") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportFileError(
            f"{path}: line {line}: not UTF-8 text (save the file as UTF-8)"
        ) from None


def _row(line: str) -> list[str]:
    try:
        return next(csv.reader([line]), [])
    except csv.Error:
        return []


def _clip(text: str, size: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 3] + "..."


def _addresses(values: list[str], line: int, parsed: Parsed) -> list[str]:
    found: list[str] = []
    for value in values:
        for part in value.split(":::"):
            part = part.strip()
            if not part:
                continue
            if normalize(part) is None:
                parsed.warnings.append(f"line {line}: {part!r} is not an e-mail address, left out")
            elif part not in found:
                found.append(part)
    return found


# --- vCard ---------------------------------------------------------------------


def _vcard(text: str, parsed: Parsed) -> None:
    lines = text.splitlines()
    starts = [i + 1 for i, line in enumerate(lines) if line.strip().upper() == "BEGIN:VCARD"]
    first = next((i + 1 for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and first not in starts:
        raise _LineError(first, f"expected BEGIN:VCARD, found {_clip(lines[first - 1])!r}")
    import vobject  # only for vCards: it costs every command start-up time
    import vobject.base

    try:
        components = list(vobject.readComponents(text, allowQP=True))
    except vobject.base.VObjectError as exc:
        line = max(int(getattr(exc, "lineNumber", None) or 1), 1)
        message = getattr(exc, "msg", None) or str(exc)
        raise _LineError(line, f"not a valid vCard: {_clip(message)}") from None
    except (ValueError, TypeError, UnicodeError) as exc:
        raise _LineError(1, f"not a valid vCard: {exc}") from None
    if not components:
        raise _LineError(1, "no vCard in the file (expected BEGIN:VCARD)")
    for index, card in enumerate(components):
        line = starts[index] if index < len(starts) else 1
        if card.name != "VCARD":
            raise _LineError(line, f"expected BEGIN:VCARD, found BEGIN:{card.name}")
        emails = _addresses([str(e.value) for e in card.contents.get("email", [])], line, parsed)
        _add_card(parsed, _vcard_name(card), emails, line)


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


def _csv_rows(text: str, first_line: int, parsed: Parsed) -> list[tuple[int, dict[str, str]]]:
    """Rows as dicts keyed by header, each with its starting line; strict on shape."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, dict[str, str]]] = []
    header: list[str] | None = None
    consumed = 0
    try:
        for fields in reader:
            line = first_line + consumed
            consumed = reader.line_num
            if not any(f.strip() for f in fields):
                continue
            if header is None:
                header = [h.strip() for h in fields]
                continue
            if len(fields) != len(header):
                raise _LineError(line, f"{len(fields)} fields where the header has {len(header)}")
            rows.append((line, dict(zip(header, fields, strict=True))))
    except csv.Error as exc:
        raise _LineError(first_line + reader.line_num - 1, f"malformed CSV: {exc}") from None
    if header is None:
        raise _LineError(first_line, "no header line")
    return rows


def _join(*parts: str | None) -> str:
    return " ".join(" ".join(p.split()) for p in parts if p and p.strip())


def _google(text: str, parsed: Parsed) -> None:
    lines = text.splitlines()
    header = [h.strip() for h in _row(lines[0])] if lines else []
    email_columns = [h for h in header if _GOOGLE_EMAIL.match(h)]
    if not email_columns:
        raise _LineError(1, "not a Google Contacts CSV (no 'E-mail 1 - Value' column)")
    for line, row in _csv_rows(text, 1, parsed):
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
    for index, line in enumerate(lines[:30]):
        fields = [f.strip() for f in _row(line)]
        if all(h in fields for h in _LINKEDIN_HEADER):
            return index
    return None


def _linkedin(text: str, parsed: Parsed) -> None:
    lines = text.splitlines(keepends=True)
    index = _linkedin_header_index([ln.rstrip("\r\n") for ln in lines])
    if index is None:
        raise _LineError(
            1,
            "not a LinkedIn Connections.csv (no header 'First Name,Last Name,"
            "URL,Email Address,...')",
        )
    for line, row in _csv_rows("".join(lines[index:]), index + 1, parsed):
        name = _join(row.get("First Name"), row.get("Last Name"))
        emails = _addresses([row.get("Email Address", "")], line, parsed)
        if name or emails:
            _add_card(parsed, name, emails, line)
