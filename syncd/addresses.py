"""Parsing and normalising e-mail addresses, in time linear in the input.

Two addresses are the same correspondent when their normal forms are equal:
ASCII case is ignored (only ASCII: a look-alike such as KELVIN SIGN stays a
different address), a ``+tag`` sub-address is dropped, and for Gmail
(gmail.com, googlemail.com) dots in the local part are ignored.

Address headers are written by strangers, so they are read by a small
single-pass tokenizer (RFC 5322 address lists: quoted strings with quoted
pairs, nested comments, groups, obsolete empty elements and routes, angle
addresses), never by backtracking regexes or the standard library's recursive
parser. The list is split into entries *first* and RFC 2047 display names are
decoded *after*, so an encoded ``,`` ``<`` or ``@`` never becomes syntax
(the CVE-2023-27043 shape). An entry that does not parse is dropped; the other
entries of its list are kept. Nothing here raises on any text.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re

_ADDR_SPEC = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~.\u00a0-\U0010ffff-]+"
    r"@[a-z0-9\u00a0-\U0010ffff](?:[a-z0-9\u00a0-\U0010ffff-]*[a-z0-9\u00a0-\U0010ffff])?"
    r"(?:\.[a-z0-9\u00a0-\U0010ffff](?:[a-z0-9\u00a0-\U0010ffff-]*[a-z0-9\u00a0-\U0010ffff])?)*"
)
_ADDR_MAX = 254  # RFC 5321: a path holds at most 256 octets with its brackets
_GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def clean(text: str) -> str:
    """Text safe to store: valid UTF-8 (lone surrogates become U+FFFD), no NULs."""
    if not text.isascii():
        text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text.replace("\0", "") if "\0" in text else text


def normalize(address: str) -> str | None:
    """The canonical form of an address, or None if it is not a valid addr-spec.

    >>> normalize("J.Doe+News@GoogleMail.com")
    'jdoe@gmail.com'
    """
    address = address.strip()
    address = address.translate(_ASCII_LOWER)
    if len(address) > _ADDR_MAX or not _ADDR_SPEC.fullmatch(address):
        return None
    if "\ufffd" in address:
        return None
    local, _, domain = address.rpartition("@")
    if domain in _GMAIL_DOMAINS:
        domain = "gmail.com"
        local = local.replace(".", "")
    if "+" in local[1:]:
        local = local[: local.index("+", 1)]
    if not local:
        return None
    return f"{local}@{domain}"


# --- RFC 2047 -------------------------------------------------------------------------------

#: One encoded word. No nested quantifiers: linear.
_WORD = re.compile(r"=\?([^?\s]{1,75})\?([qQbB])\?([^?\s]*)\?=")
_Q_HEX = re.compile(rb"=([0-9A-Fa-f]{2})")


def _charset(name: str) -> str | None:
    """A Python text codec for a MIME charset name, or None."""
    name = name.split("*", 1)[0].strip().lower()  # RFC 2231 language suffix
    if not name.isascii():
        return None
    if name in ("unknown-8bit", "x-unknown", "us-ascii", "ascii"):
        return "utf-8"
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    return info.name if getattr(info, "_is_text_encoding", True) else None


def _decode_word(charset: str, encoding: str, text: str) -> str | None:
    codec = _charset(charset)
    if codec is None:
        return None
    raw = text.encode("ascii", "replace")
    try:
        if encoding in "bB":
            raw = raw + b"=" * (-len(raw) % 4)
            data = base64.b64decode(raw, validate=False)
        else:
            data = _Q_HEX.sub(lambda m: bytes([int(m.group(1), 16)]), raw.replace(b"_", b" "))
        return data.decode(codec, "replace")
    except (binascii.Error, ValueError, LookupError, UnicodeError, TypeError):
        return None


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words (``=?utf-8?q?...?=``); never raises.

    Raw text (UTF-8 included) between encoded words is kept as written;
    whitespace between two adjacent encoded words is dropped (RFC 2047 6.2); a
    word with an unknown charset is left as written. The result is :func:`clean`.
    """
    if "=?" not in value:
        return clean(value)
    parts: list[str] = []
    pos = 0
    previous_end = -1  # end of the last decoded word, for the adjacency rule
    for match in _WORD.finditer(value):
        decoded = _decode_word(match.group(1), match.group(2), match.group(3))
        if decoded is None:
            continue
        between = value[pos : match.start()]
        if not (pos == previous_end and not between.strip()):
            parts.append(between)
        parts.append(decoded)
        pos = previous_end = match.end()
    parts.append(value[pos:])
    return clean("".join(parts))


# --- the address-list tokenizer ----------------------------------------------------------------

#: Runs of ordinary characters: everything but specials, quotes, backslash and whitespace.
_RUN = re.compile(r'[^\s"\\()<>,;:@\[\]]+')
_SPACE = re.compile(r"\s+")
_QUOTED_RUN = re.compile(r'[^"\\]+')
_COMMENT_RUN = re.compile(r"[^\\()]+")

# Token kinds.
_ATOM, _QUOTED, _SPECIAL, _BAD = "a", "q", "s", "!"


def _tokens(value: str) -> list[tuple[str, str, str]]:
    """``(kind, text, comment)`` tokens of an address list, in one pass.

    Whitespace is dropped, except that each token records whether it follows
    whitespace (the ``comment`` slot of a special " " marker is not used: a
    whitespace gap is the token ``(_SPECIAL, " ", "")``). Comment text is
    returned as a ``("c", text, "")`` token. An unterminated quoted string or
    comment, or a stray ``)``, is a ``_BAD`` token that spoils only its entry.
    """
    out: list[tuple[str, str, str]] = []
    n = len(value)
    i = 0
    while i < n:
        ch = value[i]
        if ch in " \t\r\n" or ch.isspace():
            m = _SPACE.match(value, i)
            i = m.end() if m else i + 1
            out.append((_SPECIAL, " ", ""))
        elif ch == '"':
            buf: list[str] = []
            i += 1
            closed = False
            while i < n:
                c = value[i]
                if c == '"':
                    i += 1
                    closed = True
                    break
                if c == "\\":
                    buf.append(value[i + 1 : i + 2])
                    i += 2
                    continue
                m = _QUOTED_RUN.match(value, i)
                end = m.end() if m else i + 1
                buf.append(value[i:end])
                i = end
            if not closed:
                out.append((_BAD, "", ""))
                i = n
            else:
                out.append((_QUOTED, "".join(buf), ""))
        elif ch == "(":
            depth = 0
            buf = []
            start = i
            while i < n:
                c = value[i]
                if c == "\\":
                    buf.append(value[i + 1 : i + 2])
                    i += 2
                    continue
                if c == "(":
                    depth += 1
                    if depth > 1:
                        buf.append(c)
                elif c == ")":
                    depth -= 1
                    if depth == 0:
                        i += 1
                        break
                    buf.append(c)
                else:
                    m = _COMMENT_RUN.match(value, i)
                    if m:
                        buf.append(m.group())
                        i = m.end()
                        continue
                    buf.append(c)
                i += 1
            if depth:
                out.append((_BAD, value[start:], ""))
                i = n
            else:
                out.append(("c", "".join(buf), ""))
        elif ch == "\\" or ch == ")":
            out.append((_BAD, ch, ""))
            i += 1
        elif ch in "<>,;:@[]":
            if ch == "[":  # a domain literal: keep it whole, it never normalises
                j = value.find("]", i)
                if j < 0:
                    out.append((_BAD, "", ""))
                    i = n
                    continue
                out.append((_ATOM, value[i : j + 1], ""))
                i = j + 1
                continue
            out.append((_SPECIAL, ch, ""))
            i += 1
        else:
            m = _RUN.match(value, i)
            end = m.end() if m else i + 1
            out.append((_ATOM, value[i:end], ""))
            i = end
    return out


def _phrase(words: list[tuple[str, str]]) -> str:
    """A display name from its words: encoded words decoded, whitespace folded."""
    text = " ".join(w for _, w in words)
    return " ".join(decode_words(text).split())


def _mailbox(tokens: list[tuple[str, str, str]]) -> tuple[str, str] | None:
    """``(display name, addr-spec)`` from the tokens of one list entry, or None."""
    if any(kind == _BAD for kind, _, _ in tokens):
        return None
    comments = [text for kind, text, _ in tokens if kind == "c"]
    # Words: atoms and quoted strings, with whitespace gaps kept for the addr-spec.
    lt = next((i for i, t in enumerate(tokens) if t == (_SPECIAL, "<", "")), -1)
    if lt >= 0:
        gt = next((i for i in range(lt + 1, len(tokens)) if tokens[i] == (_SPECIAL, ">", "")), -1)
        if gt < 0:
            return None
        before, inside, after = tokens[:lt], tokens[lt + 1 : gt], tokens[gt + 1 :]
        if any(
            kind in (_ATOM, _QUOTED) or (kind == _SPECIAL and text != " ")
            for kind, text, _ in after
        ):
            return None
        words: list[tuple[str, str]] = []
        for kind, text, _ in before:
            if kind in (_ATOM, _QUOTED):
                words.append((kind, text))
            elif kind == _SPECIAL and text != " ":
                return None  # '@', ':', '>' in a display name: not a mailbox
        # An obsolete route (<@a.example,@b.example:x@y>) is dropped.
        colon = max((i for i, t in enumerate(inside) if t == (_SPECIAL, ":", "")), default=-1)
        if colon >= 0:
            inside = inside[colon + 1 :]
        spec = _addr_spec(inside)
        if spec is None:
            return None
        name = _phrase(words)
        return (name or _comment_name(comments), spec)
    spec = _addr_spec(tokens)
    if spec is None:
        return None
    return (_comment_name(comments), spec)


def _comment_name(comments: list[str]) -> str:
    """The display name a mail client takes from comments when there is no phrase."""
    return " ".join(decode_words(" ".join(comments)).split()) if comments else ""


def _addr_spec(tokens: list[tuple[str, str, str]]) -> str | None:
    """``local@domain`` from atoms, dots, a quoted local part, comments and CFWS; or None."""
    parts: list[str] = []
    for kind, text, _ in tokens:
        if kind == _ATOM:
            parts.append(text)
        elif kind == _QUOTED:
            parts.append('"' + text + '"')
        elif kind == _SPECIAL:
            if text == "@":
                parts.append("@")
            elif text != " ":
                return None
        # comments and whitespace between the parts of an addr-spec are CFWS
    spec = "".join(parts)
    if spec.count("@") != 1 or spec.startswith("@") or spec.endswith("@"):
        return None
    return spec


def _entries(value: str) -> list[list[tuple[str, str, str]]]:
    """The value's tokens cut into list entries (groups opened and closed on the way)."""
    entries: list[list[tuple[str, str, str]]] = []
    current: list[tuple[str, str, str]] = []
    in_angle = in_group = route = angle_first = has_at = False
    for token in _tokens(value):
        kind, text, _ = token
        gap = kind == "c" or (kind == _SPECIAL and text == " ")
        if in_angle:
            if angle_first and not gap:
                angle_first = False
                route = kind == _SPECIAL and text == "@"
            if kind == _SPECIAL:
                if text == ">":
                    in_angle = False
                elif text == "," and not route:
                    # an unterminated angle address ends at the comma, spoiling its entry
                    in_angle = False
                    current.append((_BAD, "", ""))
                    entries.append(current)
                    current, has_at = [], False
                    continue
                elif text == ":":
                    route = False
                elif text == "<":
                    current.append((_BAD, "", ""))
            current.append(token)
            continue
        if kind == _SPECIAL:
            if text == "<":
                in_angle = angle_first = True
                route = False
            elif text in ",;":
                entries.append(current)
                current, has_at = [], False
                if text == ";":
                    in_group = False
                continue
            elif text == ":":
                if in_group or has_at:
                    current.append((_BAD, "", ""))
                else:
                    current = []  # the group's display name is no mailbox
                    in_group = True
                continue
            elif text == "@":
                has_at = True
        current.append(token)
    entries.append(current)
    return entries


# --- the two paths ------------------------------------------------------------------------------

_NOT_SIMPLE = re.compile(r'["()\\;:\[\]]')  # quotes, comments, groups, literals: the full parser
_NAME_BAD = re.compile(r"[<>@]")


def _parse_simple(value: str) -> list[tuple[str, str]] | None:
    """The fast path for plain address lists; None when the value needs the full parser."""
    if _NOT_SIMPLE.search(value):
        return None
    result = []
    for entry in value.split(","):
        entry = entry.strip()
        if not entry:
            continue
        lt = entry.find("<")
        if lt < 0:
            if "<" in entry or ">" in entry or " " in entry or "\t" in entry:
                return None
            bare = entry
            name = ""
        else:
            if not entry.endswith(">") or entry.count("<") != 1 or entry.count(">") != 1:
                return None
            name = entry[:lt]
            bare = entry[lt + 1 : -1]
            if _NAME_BAD.search(name) or not bare or bare.split() != [bare] or "@" not in bare:
                return None
        if "@" not in bare:
            return None
        normal = normalize(bare)
        if normal is not None:
            result.append(
                (" ".join(decode_words(" ".join(name.split())).split()) if name else "", normal)
            )
    return result


def parse_list(value: str | None) -> list[tuple[str, str]]:
    """``(display name, normalised address)`` pairs from an address header.

    Display names are RFC 2047-decoded after the list is parsed. Entries that
    are not mailboxes (``undisclosed-recipients:;``, garbage, a crafted
    ``a@x)<b@y>``) are left out; the rest of the list is kept. Never raises.
    """
    if not value or "@" not in value:
        return []
    simple = _parse_simple(value)
    if simple is not None:
        return simple
    return _parse_full(value)


def _parse_full(value: str) -> list[tuple[str, str]]:
    """Every shape of RFC 5322 address list, one linear pass; bad entries dropped."""
    result = []
    for entry in _entries(value):
        if not entry:
            continue
        mailbox = _mailbox(entry)
        if mailbox is None:
            continue
        normal = normalize(mailbox[1])
        if normal is not None:
            result.append((mailbox[0], normal))
    return result
