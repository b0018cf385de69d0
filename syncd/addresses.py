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
import functools
import re
from bisect import bisect_left

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
    address = address.lower() if address.isascii() else address.translate(_ASCII_LOWER)
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


@functools.lru_cache(maxsize=128)
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
            data = binascii.a2b_qp(raw, header=True)
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


# --- masking: quoted strings, comments and domain literals --------------------------------------

_FILL = "\0"  # the value is NUL-free before masking, so NUL marks masked text only
_EVENT = re.compile(r'["(\[]|[\\)]+')
#: Comment text, quoted pairs and whole one-level comments: the flat stretches of a comment.
_COMMENT_TEXT = re.compile(r"(?:[^()\\]++|\\[\s\S]|\((?:[^()\\]|\\[\s\S])*+\))*+")
#: A run of one-level comments with only whitespace between them.
_COMMENT_RUN = re.compile(r"\((?:[^()\\]|\\[\s\S])*+\)(?:\s*+\((?:[^()\\]|\\[\s\S])*+\))*+")
_COMMENT_INNER = re.compile(r"\(((?:[^()\\]|\\[\s\S])*+)\)")
_PARENS = re.compile(r"\(+|\)+")


def _unescape(text: str) -> str:
    """Quoted pairs undone (``\\x`` -> ``x``); the text is NUL-free, so NUL holds ``\\\\``."""
    if "\\" not in text:
        return text
    return text.replace("\\\\", "\0").replace("\\", "").replace("\0", "\\")


#: Closed quoted strings and the ordinary text between them (no comment, literal or
#: stray backslash): masked in one go by :func:`_mask_quotes`.
_QUOTED_RUN = re.compile(r'(?:"(?:[^"\\]|\\[\s\S])*+"|[^"(\[\\)]++)++')
_QUOTED_PAIR = re.compile(r"\\[\s\S]")


def _mask_quotes(run: str) -> str:
    """A :data:`_QUOTED_RUN` with the contents of its quoted strings NUL, at C speed.

    Quoted pairs occur only inside the quoted strings of such a run, so once
    they are blanked every ``"`` left is a delimiter: the odd pieces between
    them are the contents.
    """
    if "\\" in run:
        run = _QUOTED_PAIR.sub(_FILL * 2, run)
    pieces = run.split('"')
    pieces[1::2] = [_FILL * len(piece) for piece in pieces[1::2]]
    return '"'.join(pieces)


#: Depth changes the nested comments of one header value may make in all (each costs
#: a step); more spoil the rest of the value like an unclosed comment. Real mail
#: nests a comment two or three levels deep, rarely; one-level comments cost nothing.
_COMMENT_STEPS = 1024
#: Characters of a display name read; the store keeps 200 of it, so more is garbage
#: whose only effect would be work.
_NAME_SCAN = 4000


def _comment_end(value: str, i: int, budget: list[int]) -> int:
    """The end of the (possibly nested) comment opening at ``i``; -1 if it never closes
    (or the value's nested comments have used up ``budget``, see :data:`_COMMENT_STEPS`).

    Runs of parentheses are counted in one step, so even ``((((...`` costs one
    regex match per run, not per character.
    """
    simple = _COMMENT_RUN.match(value, i)
    if simple is not None:
        return simple.end()
    depth = 0
    k = i
    while budget[0] > 0:
        budget[0] -= 1
        k = _COMMENT_TEXT.match(value, k).end()  # type: ignore[union-attr]  # always matches
        run = _PARENS.match(value, k)
        if run is None:
            return -1  # the end of the value (or a lone trailing backslash)
        length = run.end() - k
        if value[k] == "(":
            depth += length
        elif length >= depth:
            return k + depth
        else:
            depth -= length
        k = run.end()
    return -1  # nesting that changes depth this often is no comment a mail client wrote


def _mask(value: str) -> tuple[str, str, list[tuple[int, str]]]:
    """``(masked, plain, comments)`` for a NUL-free value, all in one linear pass.

    ``masked`` has the same length as ``value``; the contents of quoted strings
    and domain literals are NUL and comments are spaces, so every special left
    in it is syntax. ``plain`` is the value with each comment blanked to spaces
    (a comment is whitespace between the parts of an address). ``comments`` are
    ``(offset, text)`` of each outer comment (or run of them, see
    :func:`_comment_name`), for a name when there is no phrase.
    An unterminated quoted string, comment or literal makes the rest of the value
    one spoilt entry (a backslash in ``masked``); so does a stray ``)`` or backslash.
    """
    masked: list[str] = []
    plain: list[str] = []
    comments: list[tuple[int, str]] = []
    budget = [_COMMENT_STEPS]
    pos, n = 0, len(value)
    while True:
        event = _EVENT.search(value, pos)
        if event is None:
            masked.append(value[pos:])
            plain.append(value[pos:])
            break
        i = event.start()
        if i > pos:
            masked.append(value[pos:i])
            plain.append(value[pos:i])
        ch = value[i]
        j = -1
        if ch == '"':
            run = _QUOTED_RUN.match(value, i)
            if run is not None:
                j = run.end()
                masked.append(_mask_quotes(value[i:j]))
                plain.append(value[i:j])
        elif ch == "(":
            j = _comment_end(value, i, budget)
            if j >= 0:
                comments.append((i, value[i:j]))
                masked.append(" " * (j - i))
                plain.append(" " * (j - i))
        elif ch == "[":
            j = value.find("]", i) + 1 or -1
            if j >= 0:
                masked.append("[" + _FILL * (j - i - 2) + "]")
                plain.append(value[i:j])
        else:  # a stray ')' or '\': kept, so that its entry is dropped
            j = event.end()
            masked.append(value[i:j])
            plain.append(value[i:j])
        if j < 0:  # never closed: the rest of the value is one spoilt entry
            masked.append("\\" + _FILL * (n - i - 1))
            plain.append(value[i:])
            break
        pos = j
    return "".join(masked), "".join(plain), comments


# --- entries and mailboxes ----------------------------------------------------------------------

#: From a position to the next list separator (``,`` ``;`` or ``:``) outside angle
#: brackets. Possessive throughout: each character is looked at a bounded number of times.
_TO_SEP = re.compile(r"(?:[^,;:<]++|<(?:\s*@[^<>]*+|[^<>,]*+)>|<)*+")
#: From a position to the next ``,`` or ``;``: skipping the rest of a spoilt entry.
_TO_END = re.compile(r"(?:[^,;<]++|<(?:\s*@[^<>]*+|[^<>,]*+)>|<)*+")
#: Separators with only whitespace between them (empty elements); not the whitespace
#: after the last one, which may be a comment (masked to spaces) of the next entry.
_EMPTY = re.compile(r"(?:\s*+[,;])*+")
_GAP = re.compile(r"\s*+")
_ADJACENT = re.compile(r"[^\s.@]\s+[^\s.@]")
_NAME_SPECIALS = re.compile(r"[<>@,;:\[\]]")
_SPEC_SPECIALS = re.compile(r"[<>,;:\[\]]")
_WORDS = re.compile(r'"((?:[^"\\]|\\[\s\S])*+)"|([^\s"]++)')


#: ``"Display Name" <local@domain>``: what most entries that need the full path look like.
_QUOTED_MAILBOX = re.compile(
    r'\s*+("(?:[^"\\]|\\[\s\S])*+")\s*+<([^\s<>()",;:@\[\]\\]++@[^\s<>()",;:@\[\]\\]++)>\s*+'
)


def _entries(masked: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each list entry worth reading, groups opened and closed on the way.

    Empty elements are skipped; an entry with a stray ``:`` (a group inside a
    group, a colon after an address) is left out.
    """
    entries: list[tuple[int, int]] = []
    n = len(masked)
    start = pos = 0
    in_group = False
    while True:
        end = _TO_SEP.match(masked, pos).end()  # type: ignore[union-attr]  # always matches
        if end < n and masked[end] == ":":
            if not in_group and "@" not in masked[start:end]:
                in_group = True  # the group's display name is no mailbox
                start = pos = end + 1
                continue
            end = _TO_END.match(masked, end).end()  # type: ignore[union-attr]
        elif end > start:
            entries.append((start, end))
        if end >= n:
            return entries
        skip = _EMPTY.match(masked, end).end()  # type: ignore[union-attr]
        if in_group and ";" in masked[end:skip]:
            in_group = False
        start = pos = skip


def _phrase(text: str) -> str:
    """A display name from its words: quoted pairs undone, encoded words decoded, spaces folded.

    Only quoted strings can hold a backslash here (a stray one spoils its entry
    before), so quoted pairs are undone once, over the joined words.
    """
    if '"' not in text:
        return " ".join(decode_words(text).split())
    words = " ".join(q or a for q, a in _WORDS.findall(text))
    return " ".join(decode_words(_unescape(words)).split())


def _addr_spec(masked: str, plain: str) -> str | None:
    """``local@domain`` from one addr-spec (CFWS between its parts dropped), or None."""
    if _SPEC_SPECIALS.search(masked) or _ADJACENT.search(masked.strip()):
        return None  # a special, or two words with only whitespace between them
    if '"' not in plain:
        return "".join(plain.split()) if plain.count("@") == 1 else None
    spec = _unescape("".join(q or a for q, a in _WORDS.findall(plain)))
    if spec.count("@") != 1:
        return None
    return spec


def _mailbox(masked: str, plain: str) -> tuple[str, str] | None:
    """``(display name, addr-spec)`` of one list entry, or None when it is not a mailbox.

    ``masked`` and ``plain`` are the entry's slices of :func:`_mask`'s strings.
    """
    if "@" not in masked or "\\" in masked or ")" in masked:
        return None
    lt = masked.find("<")
    if lt < 0:
        spec = _addr_spec(masked, plain)
        return None if spec is None else ("", spec)
    gt = masked.find(">", lt)
    if gt < 0 or masked.count("<") > 1 or masked.count(">") > 1:
        return None
    if not _GAP.fullmatch(masked, gt + 1) or _NAME_SPECIALS.search(masked, 0, lt):
        return None
    inside_masked, inside_plain = masked[lt + 1 : gt], plain[lt + 1 : gt]
    colon = inside_masked.rfind(":")  # an obsolete route (<@a.example,@b.example:x@y>)
    if colon >= 0:
        if not inside_masked.lstrip().startswith("@"):
            return None
        inside_masked, inside_plain = inside_masked[colon + 1 :], inside_plain[colon + 1 :]
    spec = _addr_spec(inside_masked, inside_plain)
    if spec is None:
        return None
    return (_phrase(plain[: min(lt, _NAME_SCAN)]), spec)


def _comment_name(spans: list[str]) -> str:
    """The display name a mail client takes from comments when there is no phrase.

    ``spans`` are the comments as :func:`_mask` found them: a run of one-level
    comments, or one nested comment (kept whole, its inner parentheses too).
    """
    texts: list[str] = []
    for span in spans:
        if _COMMENT_RUN.fullmatch(span):
            texts.extend(_COMMENT_INNER.findall(span))
        else:
            texts.append(span[1:-1])
    return " ".join(decode_words(_unescape(" ".join(texts)[:_NAME_SCAN])).split())


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
            if ">" in entry or " " in entry or "\t" in entry:
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
            if name:
                name = " ".join((decode_words(name) if "=?" in name else name).split())
            result.append((name, normal))
    return result


def parse_list(value: str | None) -> list[tuple[str, str]]:
    """``(display name, normalised address)`` pairs from an address header.

    Display names are RFC 2047-decoded after the list is parsed. Entries that
    are not mailboxes (``undisclosed-recipients:;``, garbage, a crafted
    ``a@x)<b@y>``) are left out; the rest of the list is kept. Never raises.
    """
    if not value or "@" not in value:
        return []
    value = clean(value)
    simple = _parse_simple(value)
    if simple is not None:
        return simple
    return _parse_full(value)


def _parse_full(value: str) -> list[tuple[str, str]]:
    """Every shape of RFC 5322 address list, in linear time; bad entries dropped."""
    if _FILL in value:
        value = value.replace(_FILL, "")
    masked, plain, comments = _mask(value)
    starts = [offset for offset, _ in comments]
    result = []
    for start, end in _entries(masked):
        text = plain[start:end]
        quoted = _QUOTED_MAILBOX.fullmatch(text)  # the everyday shape, in one match
        if quoted is not None:
            mailbox: tuple[str, str] | None = (_phrase(quoted.group(1)), quoted.group(2))
        else:
            mailbox = _mailbox(masked[start:end], text)
        if mailbox is None:
            continue
        normal = normalize(mailbox[1])
        if normal is None:
            continue
        name = mailbox[0]
        if not name and comments:
            first, last = bisect_left(starts, start), bisect_left(starts, end)
            name = _comment_name([text for _, text in comments[first:last]])
        result.append((name, normal))
    return result
