"""An in-memory mail source, for tests: folders with roles, UID cursors, injected failures.

It keeps the same contract as the IMAP and Gmail connectors
(``tests/contract/``) without a server, so the middle of weakties (engine,
daemon, alerts) can be tested in-process in milliseconds:

* A :class:`MemoryMailbox` holds folders, each with a :class:`FolderRole`, a
  UIDVALIDITY and raw messages under ascending UIDs. :meth:`MemoryMailbox.deliver`
  files a message; :meth:`MemoryMailbox.renumber` changes a folder's
  UIDVALIDITY (the folder is read again from the start, as over IMAP).
* :func:`connect` returns a :class:`MemoryConnector`. State per folder is
  ``{"uidvalidity", "last_uid"}``; each batch carries the state of the one
  folder it read, so a pass cut off after any batch resumes without loss or
  repeat. Drafts, junk and trash are skipped unless ``folders`` names them.
* Only :data:`HEADER_FIELDS` are handed on, raw (as IMAP's ``HEADER.FIELDS``
  does); the body never leaves the mailbox.
* :meth:`MemoryMailbox.fail_connect` and :meth:`MemoryMailbox.fail_after`
  make the next connects or passes raise a :class:`ConnectorError` (or any
  exception, to play a connector's bug);
  ``on_batch`` is called before each batch is yielded (a test can stop a
  daemon there).

Not registered as a user-facing account type: tests open it directly.
Nothing here imports from ``syncd/``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from connectors.base import (
    HEADER_FIELDS,
    Batch,
    ConnectError,
    ConnectorError,
    FolderRole,
    HeaderRecord,
    SyncState,
)

BATCH_SIZE = 50
_WANTED = frozenset(f.lower().encode() for f in HEADER_FIELDS)
_validities = itertools.count(1)


@dataclass(frozen=True)
class MemorySettings:
    """The keys of a memory account: whose mailbox it is, what to read, how much at once."""

    username: str = "me@example.com"  # the owner's address (an identity, as for IMAP)
    folders: list[str] | None = None  # default: every folder but drafts, junk and trash
    batch_size: int = BATCH_SIZE

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size: must be at least 1, got {self.batch_size}")


@dataclass
class MemoryFolder:
    name: str
    role: FolderRole
    uidvalidity: int = field(default_factory=lambda: next(_validities))
    #: (uid, raw message, server time), UIDs ascending
    messages: list[tuple[int, bytes, datetime]] = field(default_factory=list)
    next_uid: int = 1


@dataclass
class _Failure:
    error: Exception
    after_batches: int | None  # None: at connect
    times: int


class MemoryMailbox:
    """One account's mail, held in memory; shared by every connector opened on it."""

    DEFAULT_FOLDERS: tuple[tuple[str, FolderRole], ...] = (
        ("INBOX", FolderRole.NORMAL),
        ("Sent", FolderRole.SENT),
        ("Drafts", FolderRole.DRAFTS),
        ("Junk", FolderRole.JUNK),
        ("Trash", FolderRole.TRASH),
        ("Archive", FolderRole.NORMAL),
    )

    def __init__(self, folders: Sequence[tuple[str, FolderRole]] = DEFAULT_FOLDERS) -> None:
        self.folders: dict[str, MemoryFolder] = {n: MemoryFolder(n, r) for n, r in folders}
        self._failures: list[_Failure] = []
        #: called with the batch's number in the pass (1, 2, ...) before it is yielded
        self.on_batch: Callable[[int], None] | None = None
        self.connects = 0  # how many connects were attempted (failed ones included)

    def add_folder(self, name: str, role: FolderRole = FolderRole.NORMAL) -> MemoryFolder:
        folder = self.folders[name] = MemoryFolder(name, role)
        return folder

    def deliver(self, raw: bytes, folder: str, at: datetime) -> int:
        """File a raw RFC 5322 message in ``folder`` (received at ``at``, aware); its UID."""
        if at.tzinfo is None:
            raise ValueError("server time must be timezone-aware")
        box = self.folders[folder]
        uid = box.next_uid
        box.messages.append((uid, raw, at))
        box.next_uid += 1
        return uid

    def renumber(self, folder: str) -> None:
        """A new UIDVALIDITY (as after a server restore): the folder is read again."""
        self.folders[folder].uidvalidity = next(_validities)

    def fail_connect(self, error: Exception, times: int = 1) -> None:
        """The next ``times`` connects raise ``error`` (a ConnectorError as a real
        connector would, or anything else to play a connector's bug)."""
        self._failures.append(_Failure(error, None, times))

    def fail_after(self, batches: int, error: Exception, times: int = 1) -> None:
        """The next ``times`` passes raise ``error`` once ``batches`` batches were yielded."""
        self._failures.append(_Failure(error, batches, times))

    def _take_failure(self, at_connect: bool) -> _Failure | None:
        for failure in self._failures:
            if (failure.after_batches is None) == at_connect:
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure
        return None


def header_fields(raw: bytes) -> bytes:
    """The header block of ``raw`` reduced to :data:`HEADER_FIELDS` (raw bytes, CRLF)."""
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    kept: list[bytes] = []
    keep = False
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):  # a folded continuation of the field before
            if keep:
                kept.append(line)
            continue
        keep = line.split(b":", 1)[0].strip().lower() in _WANTED
        if keep:
            kept.append(line)
    return b"".join(line + b"\r\n" for line in kept) + b"\r\n"


class MemoryConnector:
    """A "logged-in" session on a :class:`MemoryMailbox`."""

    def __init__(self, mailbox: MemoryMailbox, settings: MemorySettings) -> None:
        self.mailbox, self.settings = mailbox, settings
        self.closed = False

    def __enter__(self) -> MemoryConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.closed = True

    def _folders(self) -> list[MemoryFolder]:
        folders = self.mailbox.folders
        if self.settings.folders is not None:
            missing = [f for f in self.settings.folders if f not in folders]
            if missing:
                known = ", ".join(folders)
                raise ConnectorError(f"no folder named {missing[0]!r} (folders: {known})")
            return [folders[f] for f in self.settings.folders]
        return [f for f in folders.values() if f.role.counts]

    def batches(self, state: SyncState) -> Iterator[Batch]:
        if self.closed:
            raise ConnectError("the connection is closed")
        failure = self.mailbox._take_failure(at_connect=False)
        todo: list[tuple[MemoryFolder, list[tuple[int, bytes, datetime]]]] = []
        for folder in self._folders():
            saved = state.get(folder.name) or {}
            last = saved.get("last_uid", 0) if saved.get("uidvalidity") == folder.uidvalidity else 0
            todo.append((folder, [m for m in folder.messages if m[0] > last]))
        total = sum(len(new) for _, new in todo)
        count = 0
        for folder, new in todo:
            for start in range(0, len(new), self.settings.batch_size):
                if failure is not None and count >= (failure.after_batches or 0):
                    raise failure.error
                chunk = new[start : start + self.settings.batch_size]
                records = [
                    HeaderRecord(header_fields(raw), at, folder.name, folder.role)
                    for _, raw, at in chunk
                ]
                count += 1
                if self.mailbox.on_batch is not None:
                    self.mailbox.on_batch(count)
                yield Batch(
                    records=records,
                    state={
                        folder.name: {"uidvalidity": folder.uidvalidity, "last_uid": chunk[-1][0]}
                    },
                    expected_total=total,
                )
        if failure is not None:  # fewer batches than the failure waited for: fail at the end
            raise failure.error


def connect(mailbox: MemoryMailbox, settings: MemorySettings | None = None) -> MemoryConnector:
    """Open ``mailbox``; raises the error injected by :meth:`MemoryMailbox.fail_connect`."""
    mailbox.connects += 1
    failure = mailbox._take_failure(at_connect=True)
    if failure is not None:
        raise failure.error
    return MemoryConnector(mailbox, settings or MemorySettings())
