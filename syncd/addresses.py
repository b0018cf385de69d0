"""Parsing and normalising e-mail addresses.

Two addresses are the same correspondent when their normal forms are equal:
case is ignored, a ``+tag`` sub-address is dropped, and for Gmail
(gmail.com, googlemail.com) dots in the local part are ignored.

Header values are parsed defensively: :func:`email.utils.getaddresses` on
Python < 3.11.10 accepts crafted values such as
``alice@example.org)<bob@example.org>`` (CVE-2023-27043), so a value whose
parse does not add up is rejected as a whole.
"""

from __future__ import annotations

import email.errors
import email.header
import email.utils
import re

_ADDR_SPEC = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$"
)
_GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def normalize(address: str) -> str | None:
    """The canonical form of an address, or None if it is not a valid addr-spec.

    >>> normalize("J.Doe+News@GoogleMail.com")
    'jdoe@gmail.com'
    """
    address = address.strip().lower()
    if not _ADDR_SPEC.match(address):
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


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words (``=?utf-8?q?...?=``); never raises."""
    if "=?" not in value:
        return value
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (ValueError, LookupError, UnicodeError, email.errors.HeaderParseError):
        return value


def _balanced(value: str) -> bool:
    """Parentheses and angle brackets outside quoted strings pair up."""
    depth = angle = 0
    for ch in _QUOTED.sub("", value):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "<":
            angle += 1
        elif ch == ">":
            angle -= 1
        if depth < 0 or angle < 0:
            return False
    return depth == 0 and angle == 0


#: One entry of the common, simple shapes: ``a@b``, ``Name <a@b>``, ``=?..?= <a@b>``.
_SIMPLE_ENTRY = re.compile(
    r"\s*(?:"
    r"([^<>\"(),;:@\\]*?)\s*<([^<>\s@]+@[^<>\s@]+)>"  # Name <a@b>
    r"|([^<>\s@]+@[^<>\s@]+)"  # a@b
    r")\s*"
)
_NOT_SIMPLE = re.compile(r'["()\\;:]')  # quotes, comments, groups: the full parser


def _parse_simple(value: str) -> list[tuple[str, str]] | None:
    """The fast path for plain address lists; None when the value needs the full parser."""
    if _NOT_SIMPLE.search(value):
        return None
    result = []
    for entry in value.split(","):
        if not entry.strip():
            continue
        match = _SIMPLE_ENTRY.fullmatch(entry)
        if match is None:
            return None
        name, bracketed, bare = match.groups()
        normal = normalize(bracketed or bare)
        if normal is not None:
            result.append((decode_words(" ".join(name.split())) if name else "", normal))
    return result


def parse_list(value: str | None) -> list[tuple[str, str]]:
    """``(display name, normalised address)`` pairs from an address header.

    Display names are RFC 2047-decoded. Invalid entries (``undisclosed-
    recipients:;``, garbage) are left out; a value whose parse does not add
    up (see module docstring) yields nothing at all.
    """
    if not value or "@" not in value:
        return []
    simple = _parse_simple(value)
    if simple is not None:
        return simple
    return _parse_full(value)


def _parse_full(value: str) -> list[tuple[str, str]]:
    """The stdlib parser, guarded against values whose parse does not add up."""
    if not _balanced(value):
        return []
    parsed = email.utils.getaddresses([value])
    expected = sum(1 for part in _QUOTED.sub('""', value).split(",") if part.strip())
    if len(parsed) != expected:
        return []
    result = []
    for name, addr in parsed:
        normal = normalize(addr)
        if normal is not None:
            result.append((decode_words(name).strip(), normal))
    return result
