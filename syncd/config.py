"""The TOML configuration: where it lives, what it may say, frozen dataclasses.

Every key is checked on load. An unknown key, a wrong type or a bad duration
raises :class:`ConfigError`, whose message is one line naming the file and the
key. Account tables are validated against the settings dataclass of their
type's registry entry (``syncd.accounts``), so a connector declares its own keys.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from datetime import UTC, time, timedelta, tzinfo
from pathlib import Path
from string import Formatter
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

from connectors.base import PROGRAM
from syncd import durations
from syncd.accounts import REGISTRY
from syncd.accounts.base import Account as Account  # importable from here too
from syncd.durations import parse_duration
from syncd.errors import ConfigError as ConfigError  # importable from here too
from syncd.files import expand_path as expand_path  # importable from here too
from syncd.model import name_problem

APP = "weakties"


def default_config_path() -> Path:
    if env := os.environ.get("WEAKTIES_CONFIG"):
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def default_data_dir() -> Path:
    """Where the default database lives ($XDG_DATA_HOME/weakties); created 0700 on first use."""
    return Path(platformdirs.user_data_dir(APP))


def default_database_url() -> str:
    return f"sqlite:///{default_data_dir() / 'weakties.db'}"


def _within(key: str, value: timedelta | None, bounds: durations.Bounds) -> None:
    """A loaded duration inside its setting's bounds; ValueError naming the key."""
    if value is not None:
        try:
            bounds.check(value)
        except ValueError as exc:
            raise ValueError(f"{key}: {exc}") from None


@dataclass(frozen=True)
class Identity:
    addresses: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Defaults:
    cadence: timedelta = timedelta(days=180)

    def __post_init__(self) -> None:
        _within("cadence", self.cadence, durations.CADENCE)


@dataclass(frozen=True)
class Database:
    #: a URL, or a plain path meaning a SQLite file (``~`` and ``$VARS`` expanded)
    url: str | None = field(default=None, metadata={"path": "url"})


@dataclass(frozen=True)
class Privacy:
    store_subjects: bool = True


@dataclass(frozen=True)
class Tag:
    cadence: timedelta | None = None

    def __post_init__(self) -> None:
        _within("cadence", self.cadence, durations.CADENCE)


@dataclass(frozen=True)
class Daemon:
    """[daemon]: how ``weakties daemon`` polls."""

    poll_interval: timedelta = timedelta(minutes=15)
    max_backoff: timedelta = timedelta(hours=1)  # a failing account waits at most this long

    def __post_init__(self) -> None:
        _within("poll_interval", self.poll_interval, durations.POLL_INTERVAL)
        _within("max_backoff", self.max_backoff, durations.BACKOFF)


#: The placeholders a [notify] command may use.
COMMAND_FIELDS = ("name", "email", "days", "direction", "kind", "count", "summary", "body")


#: The notification backends; ``[notify] backend`` names one or a list of them.
BACKENDS = ("desktop", "command", "log", "push")


@dataclass(frozen=True)
class Notify:
    """[notify]: how and when lapses are told."""

    #: one backend or a list (``["desktop", "push"]``): every alert goes to each
    backend: Literal["desktop", "command", "log", "push"] | list[str] = "desktop"
    #: argv template, never run through a shell; ``~`` and ``$VARS`` expanded in the program
    command: list[str] | None = field(default=None, metadata=PROGRAM)
    #: Apprise URLs, each its own channel (they hold secrets: see push_urls_command)
    push_urls: list[str] | None = None
    push_urls_command: list[str] | None = None  # argv printing one URL per line
    max_per_day: int | None = None  # notifications per channel and local day
    renotify_after: timedelta = timedelta(days=14)
    reply_after: timedelta | Literal["off"] = timedelta(days=14)
    quiet_hours: str | None = None  # "22:00-08:00", local time

    def __post_init__(self) -> None:
        _within("renotify_after", self.renotify_after, durations.ALERT_DELAY)
        if isinstance(self.reply_after, timedelta):
            _within("reply_after", self.reply_after, durations.ALERT_DELAY)
        if isinstance(self.backend, list):
            if not self.backend:
                raise ValueError(f"backend: the list is empty (use some of {', '.join(BACKENDS)})")
            for name in self.backend:
                if name not in BACKENDS:
                    raise ValueError(
                        f"backend: unknown backend {name!r} (known: {', '.join(BACKENDS)})"
                    )
            if len(set(self.backend)) != len(self.backend):
                raise ValueError("backend: a backend is listed twice")
        if "command" in self.backends and not self.command:
            raise ValueError(
                'command: required when backend = "command" '
                '(e.g. command = ["notify-send", "--", "{name}", "{days} days"])'
            )
        for arg in self.command or []:
            try:
                fields = [f for _, f, _, _ in Formatter().parse(arg) if f is not None]
            except ValueError as exc:
                raise ValueError(f"command: {arg!r}: {exc}") from None
            for name in fields:
                if name not in COMMAND_FIELDS:
                    raise ValueError(
                        f"command: unknown placeholder {{{name}}} in {arg!r} "
                        f"(known: {', '.join('{' + f + '}' for f in COMMAND_FIELDS)})"
                    )
        self._check_push()
        if self.max_per_day is not None and self.max_per_day < 1:
            raise ValueError(f"max_per_day: must be at least 1, got {self.max_per_day}")
        if self.quiet_hours is not None:
            parse_quiet_hours(self.quiet_hours)

    def _check_push(self) -> None:
        push = "push" in self.backends
        for key in ("push_urls", "push_urls_command"):
            if getattr(self, key) is not None and not push:
                raise ValueError(f'{key}: set, but "push" is not in backend')
        if self.push_urls is not None and self.push_urls_command is not None:
            raise ValueError("push_urls_command: set push_urls or push_urls_command, not both")
        if self.push_urls_command is not None and not self.push_urls_command:
            raise ValueError("push_urls_command: the command is empty")
        if self.push_urls:
            from syncd.notify.push import check_push_urls

            check_push_urls(self.push_urls, "push_urls")

    @property
    def backends(self) -> tuple[str, ...]:
        """The configured backends, in order."""
        return tuple(self.backend) if isinstance(self.backend, list) else (self.backend,)

    @property
    def reply_window(self) -> timedelta | None:
        """How long a reply may be owed before it is told; None when "off"."""
        return None if self.reply_after == "off" else self.reply_after

    @property
    def quiet(self) -> tuple[time, time] | None:
        return parse_quiet_hours(self.quiet_hours) if self.quiet_hours else None


@dataclass(frozen=True)
class Digest:
    """[digest]: the email summary (``from`` in the file is ``sender`` here)."""

    every: Literal["7d", "1d", "off"] = "off"
    at: str = "Mon 08:00"  # local time; with every = "1d" only the time counts
    to: str | None = None
    sender: str | None = None  # default: to
    account: str | None = None  # reuse this IMAP account's host pattern and login
    smtp_host: str | None = None
    smtp_port: int | None = None  # default 465 (tls) or 587 (starttls)
    security: Literal["tls", "starttls"] = "tls"
    username: str | None = None
    ca_file: str | None = None
    password_command: list[str] | None = None
    password_file: str | None = None

    def __post_init__(self) -> None:
        try:
            parse_at(self.at)
        except ValueError as exc:
            raise ValueError(f"at: {str(exc).removeprefix('digest ')}") from None
        for key in ("to", "sender"):
            value = getattr(self, key)
            if value is not None and ("@" not in value or any(c in value for c in "\r\n,<>")):
                shown = "from" if key == "sender" else key
                raise ValueError(f"{shown}: {value!r} is not one email address")
        if self.every != "off" and not self.to:
            raise ValueError(f'to: required when every = "{self.every}"')
        if self.every != "off" and not (self.smtp_host or self.account):
            raise ValueError(
                "smtp_host: required (or account = NAME to reuse an IMAP account's login)"
            )
        if self.password_command is not None and self.password_file is not None:
            raise ValueError("password_file: set password_command or password_file, not both")
        if self.password_command is not None and not self.password_command:
            raise ValueError("password_command: the command is empty")
        if self.smtp_port is not None and not 0 < self.smtp_port < 65536:
            raise ValueError(f"smtp_port: {self.smtp_port} is not a port")

    @property
    def period(self) -> timedelta | None:
        """How often it goes out; None when off."""
        return None if self.every == "off" else parse_duration(self.every)


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_at(at: str) -> tuple[int | None, time]:
    """``"Mon 08:00"`` -> (0, 08:00); ``"08:00"`` -> (None, 08:00); ValueError, one line."""
    words = at.split()
    day: int | None = None
    if len(words) == 2:
        if words[0][:3].lower() not in _WEEKDAYS:
            raise ValueError(f"digest at = {at!r}: unknown weekday {words[0]!r}")
        day = _WEEKDAYS.index(words[0][:3].lower())
        words = words[1:]
    if len(words) != 1:
        raise ValueError(f"digest at = {at!r}: expected 'Mon 08:00' or '08:00'")
    try:
        clock = time.fromisoformat(words[0])
    except ValueError:
        raise ValueError(f"digest at = {at!r}: {words[0]!r} is not HH:MM") from None
    return day, clock


def parse_quiet_hours(text: str) -> tuple[time, time]:
    """ "22:00-08:00" -> (22:00, 08:00); raises ValueError naming the key."""
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise ValueError(f'quiet_hours: expected "HH:MM-HH:MM", got {text!r}') from None
    if start == end:
        raise ValueError(f"quiet_hours: {text!r} starts and ends at the same time")
    return start, end


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"timezone: unknown time zone {name!r} (an IANA name such as 'Europe/Berlin')"
        ) from None


def system_zone() -> tzinfo:
    """The system's local zone as a ``ZoneInfo`` (``$TZ``, else the ``/etc/localtime``
    link), so that daylight saving is honoured; UTC when neither names one."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            return ZoneInfo(target.split("zoneinfo/", 1)[1])
        with open("/etc/localtime", "rb") as fh:
            return ZoneInfo.from_file(fh, key="localtime")
    except (OSError, ValueError, ZoneInfoNotFoundError):
        return UTC


@dataclass(frozen=True)
class Calendar:
    """[calendar]: how calendar events become meetings (README, "Meetings")."""

    max_participants: int = 8  # more people than this: a crowd, counts for nobody
    timezone: str | None = None  # IANA name for all-day and floating times; default: the system's

    def __post_init__(self) -> None:
        if self.max_participants < 1:
            raise ValueError(f"max_participants: must be at least 1, got {self.max_participants}")
        if self.timezone is not None:
            _zone(self.timezone)

    @property
    def zone(self) -> tzinfo:
        return _zone(self.timezone) if self.timezone is not None else system_zone()


@dataclass(frozen=True)
class Config:
    path: Path
    identity: Identity = field(default_factory=Identity)
    defaults: Defaults = field(default_factory=Defaults)
    database: Database = field(default_factory=Database)
    privacy: Privacy = field(default_factory=Privacy)
    tags: dict[str, Tag] = field(default_factory=dict)
    accounts: list[Account[Any]] = field(default_factory=list)
    daemon: Daemon = field(default_factory=Daemon)
    notify: Notify = field(default_factory=Notify)
    digest: Digest = field(default_factory=Digest)
    calendar: Calendar = field(default_factory=Calendar)

    @property
    def database_url(self) -> str:
        if env := os.environ.get("WEAKTIES_DB"):
            try:
                return str(_expand(env, "url", "$WEAKTIES_DB"))
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        return self.database.url or default_database_url()

    def account(self, name: str) -> Account[Any]:
        for account in self.accounts:
            if account.name == name:
                return account
        known = ", ".join(a.name for a in self.accounts) or "none"
        raise ConfigError(f"{self.path}: no account named {name!r} (configured: {known})")

    def my_addresses(self) -> list[str]:
        """My identities: [identity] addresses plus those the accounts name (an IMAP
        or CalDAV username that is an address)."""
        found = list(self.identity.addresses)
        for account in self.accounts:
            found += REGISTRY[account.type].identities(account.settings)
        # the digest is mail to myself: a synced copy of it is never an interaction
        found += [a for a in (self.digest.to, self.digest.sender) if a]
        return found

    def cadence_for(self, own: timedelta | None, tags: list[str]) -> timedelta:
        """The contact's cadence, else the shortest of its tags', else the default."""
        if own is not None:
            return own
        tagged = [c for t in tags if t in self.tags and (c := self.tags[t].cadence) is not None]
        return min(tagged) if tagged else self.defaults.cadence


# --- validation -------------------------------------------------------------


def _type_name(tp: Any) -> str:
    if tp is timedelta:
        return "a duration such as '90d'"
    if typing.get_origin(tp) is typing.Literal:
        args = typing.get_args(tp)
        return f'"{args[0]}"' if len(args) == 1 else "one of " + ", ".join(map(str, args))
    if typing.get_origin(tp) is list:
        return "a list of strings"
    return {str: "a string", int: "an integer", bool: "true or false", float: "a number"}.get(
        tp, str(tp)
    )


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp``; raise ValueError naming ``key``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(options) == 1:
            return _coerce(value, options[0], key)
        for option in options:  # e.g. a duration or "off"
            try:
                return _coerce(value, option, key)
            except ValueError:
                pass
        wanted = " or ".join(_type_name(o) for o in options)
        raise ValueError(f"{key}: expected {wanted}, got {value!r}")
    ok = False
    if tp is timedelta:
        if isinstance(value, str):
            try:
                return parse_duration(value)
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
    elif origin is typing.Literal:
        ok = value in typing.get_args(tp)
    elif origin is list:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, tp)
    if not ok:
        raise ValueError(f"{key}: expected {_type_name(tp)}, got {value!r}")
    return value


def _expand(value: Any, kind: str, key: str) -> Any:
    """Expand a field marked as a path (``connectors.base.PATH``/``PROGRAM``, "url")."""
    if kind == "program" and isinstance(value, list) and value:
        return [expand_path(value[0], key), *value[1:]]
    if kind == "url" and isinstance(value, str):
        if "://" not in value:
            return expand_path(value, key)
        prefix, sep, rest = value.partition(":///")
        if prefix.split("+")[0] == "sqlite" and sep:
            return f"{prefix}:///{expand_path(rest, key)}"
        return value
    if kind == "file" and isinstance(value, str):
        return expand_path(value, key)
    return value


def build(cls: type, table: Any, where: str) -> Any:
    """Build dataclass ``cls`` from a TOML table, checking every key and type."""
    if not isinstance(table, dict):
        raise ValueError(f"{where}: expected a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    values = {}
    for key, value in table.items():
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ValueError(f"{where}.{key}: unknown key (known keys: {known})")
        values[key] = _coerce(value, hints[key], f"{where}.{key}")
        if kind := fields[key].metadata.get("path"):
            values[key] = _expand(values[key], kind, f"{where}.{key}")
    for name, f in fields.items():
        no_default = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if no_default and name not in values:
            raise ValueError(f"{where}.{name}: missing (required)")
    try:
        return cls(**values)
    except ValueError as exc:  # a settings class's own __post_init__ check
        if str(exc).split(":", 1)[0] in fields:  # "key: why" -> "where.key: why"
            raise ValueError(f"{where}.{exc}") from None
        raise ValueError(f"{where}: {exc}") from None


def _account(table: Any, index: int) -> Account[Any]:
    where = f"account[{index}]"
    if not isinstance(table, dict):
        raise ValueError(f"{where}: expected a table ([[account]])")
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}.name: missing (every account needs a name)")
    if problem := name_problem(name):
        raise ValueError(f"{where}.name: {problem}")
    where = f"account {name!r}"
    kind = table.get("type")
    if kind not in REGISTRY:
        raise ValueError(f"{where}.type: expected one of {', '.join(REGISTRY)}, got {kind!r}")
    rest = {k: v for k, v in table.items() if k not in ("name", "type")}
    return Account(name=name, type=kind, settings=build(REGISTRY[kind].settings, rest, where))


_SECTIONS: dict[str, type] = {
    "identity": Identity,
    "defaults": Defaults,
    "database": Database,
    "privacy": Privacy,
    "daemon": Daemon,
    "notify": Notify,
    "digest": Digest,
    "calendar": Calendar,
}


def parse(data: dict[str, Any], path: Path) -> Config:
    """Validate parsed TOML; raises ConfigError naming the file and key."""
    try:
        sections: dict[str, Any] = {}
        for key, value in data.items():
            if key == "digest" and isinstance(value, dict) and "from" in value:
                value = {("sender" if k == "from" else k): v for k, v in value.items()}
            if key in _SECTIONS:
                sections[key] = build(_SECTIONS[key], value, key)
            elif key == "tags":
                if not isinstance(value, dict):
                    raise ValueError("tags: expected a table of [tags.NAME] tables")
                sections["tags"] = {n: build(Tag, t, f"tags.{n}") for n, t in value.items()}
            elif key == "account":
                if not isinstance(value, list):
                    raise ValueError("account: expected [[account]] tables")
                sections["accounts"] = [_account(t, i) for i, t in enumerate(value)]
            else:
                known = ", ".join([*_SECTIONS, "tags", "account"])
                raise ValueError(f"{key}: unknown section (known: {known})")
        names = [a.name for a in sections.get("accounts", [])]
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"account: the name {dupes[0]!r} is used twice")
        _check_digest_account(sections)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return Config(path=path, **sections)


def _check_digest_account(sections: dict[str, Any]) -> None:
    """``[digest] account`` names an IMAP account of this file."""
    digest = sections.get("digest")
    if digest is None or digest.account is None:
        return
    accounts = {a.name: a for a in sections.get("accounts", [])}
    found = accounts.get(digest.account)
    if found is None:
        known = ", ".join(accounts) or "none"
        raise ValueError(
            f"digest.account: no account named {digest.account!r} (configured: {known})"
        )
    if REGISTRY[found.type].mail_login(found.settings) is None:
        raise ValueError(
            f"digest.account: {digest.account!r} is a {found.type} account; "
            "only an IMAP account's login can be reused (set smtp_host and username instead)"
        )


class MissingConfig(ConfigError):
    """There is no config file: every command but ``init`` needs one."""


def load(path: Path | None = None, *, init_hint: str = "weakties init") -> Config:
    """Load and validate the config; :class:`MissingConfig` when there is no file
    (its message says to run ``init_hint``)."""
    path = path or default_config_path()
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise MissingConfig(f"no config at {path}; run '{init_hint}'") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return parse(data, path)
