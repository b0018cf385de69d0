"""IMAP settings of the well-known mail providers, guessed from an address's domain.

Only a guess for ``weakties init`` to offer as the default; the user can
change every value and init checks the result with a live login. Unknown
domains get ``imap.<domain>``, port 993, TLS.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Provider:
    name: str  # a short account name to propose: "gmail", "fastmail"...
    host: str
    port: int = 993
    security: str = "tls"
    note: str | None = None  # what the user needs to know (app passwords...)
    known: bool = True
    gmail: bool = False


_APP_PASSWORD = "{} needs an app password for IMAP (with two-step verification on): {}"

_PROVIDERS: list[tuple[tuple[str, ...], Provider]] = [
    (
        ("gmail.com", "googlemail.com"),
        Provider(
            "gmail",
            "imap.gmail.com",
            gmail=True,
            note=_APP_PASSWORD.format("Gmail", "https://myaccount.google.com/apppasswords"),
        ),
    ),
    (
        (
            "outlook.com",
            "hotmail.com",
            "live.com",
            "msn.com",
            "outlook.de",
            "hotmail.de",
            "hotmail.co.uk",
            "hotmail.fr",
            "live.co.uk",
            "live.de",
        ),
        Provider(
            "outlook",
            "outlook.office365.com",
            note="Outlook.com may refuse password logins over IMAP; an app password "
            "(https://account.live.com/proofs/AppPassword) works where it is allowed",
        ),
    ),
    (
        ("yahoo.com", "yahoo.co.uk", "yahoo.de", "yahoo.fr", "ymail.com", "rocketmail.com"),
        Provider(
            "yahoo",
            "imap.mail.yahoo.com",
            note=_APP_PASSWORD.format("Yahoo", "https://login.yahoo.com/account/security"),
        ),
    ),
    (
        ("icloud.com", "me.com", "mac.com"),
        Provider(
            "icloud",
            "imap.mail.me.com",
            note="iCloud needs an app-specific password: https://account.apple.com",
        ),
    ),
    (
        ("fastmail.com", "fastmail.fm", "fastmail.net", "fastmail.org", "messagingengine.com"),
        Provider(
            "fastmail",
            "imap.fastmail.com",
            note="Fastmail needs an app password (Settings > Privacy & Security)",
        ),
    ),
    (
        ("gmx.net", "gmx.de", "gmx.at", "gmx.ch"),
        Provider("gmx", "imap.gmx.net", note="GMX: allow IMAP in the web mail settings first"),
    ),
    (
        ("gmx.com", "gmx.us", "gmx.co.uk", "gmx.fr"),
        Provider("gmx", "imap.gmx.com", note="GMX: allow IMAP in the web mail settings first"),
    ),
    (
        ("web.de",),
        Provider("webde", "imap.web.de", note="WEB.DE: allow IMAP in the web mail settings first"),
    ),
    (("posteo.de", "posteo.net", "posteo.org", "posteo.eu"), Provider("posteo", "posteo.de")),
    (("mailbox.org",), Provider("mailbox", "imap.mailbox.org")),
    (
        ("aol.com",),
        Provider(
            "aol", "imap.aol.com", note=_APP_PASSWORD.format("AOL", "https://login.aol.com/account")
        ),
    ),
    (("zoho.com", "zohomail.com"), Provider("zoho", "imap.zoho.com")),
    (("yandex.com", "yandex.ru", "ya.ru"), Provider("yandex", "imap.yandex.com")),
    (("t-online.de",), Provider("tonline", "secureimap.t-online.de")),
    (
        ("proton.me", "protonmail.com", "pm.me"),
        Provider(
            "proton",
            "127.0.0.1",
            1143,
            "starttls",
            note="Proton Mail is read through Proton Mail Bridge on this machine; use the "
            "password the Bridge shows (and its certificate as the CA file)",
        ),
    ),
]
_BY_DOMAIN = {domain: provider for domains, provider in _PROVIDERS for domain in domains}


def guess(address: str) -> Provider:
    """The provider settings for the domain of ``address`` (a guess for unknown ones)."""
    domain = address.rpartition("@")[2].strip().lower()
    if domain in _BY_DOMAIN:
        return _BY_DOMAIN[domain]
    label = domain.split(".")[0] if domain else "mail"
    return Provider(label or "mail", f"imap.{domain}" if domain else "", known=False)
