"""Files only the user may read: written atomically, 0600, in a 0700 directory;
and paths as the user writes them (``~``, ``$VARS``), expanded one way everywhere.

The config, OAuth token files and their backups go through here, so a crash
never leaves half a file and nothing weakties writes is readable by others.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path


def backup_path(path: Path) -> Path:
    """Where :func:`write_private` keeps the file it replaces: ``<name>.bak`` beside it."""
    return path.with_name(path.name + ".bak")


def _make_private_dirs(directory: Path) -> None:
    """Create ``directory`` and every missing parent 0700 (existing ones stay as they are)."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            d.mkdir(mode=0o700)
            os.chmod(d, 0o700)  # mkdir's mode is masked by the umask


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_private(path: Path, text: str, *, keep_backup: bool = False) -> Path | None:
    """Write ``text`` to ``path`` atomically, readable by the owner only (0600);
    missing directories are created 0700.

    With ``keep_backup`` an existing file is first copied to
    :func:`backup_path` (0600, also atomically); returns that path, or None
    when nothing was kept.
    """
    path = path.expanduser()
    _make_private_dirs(path.parent)
    kept = None
    if keep_backup and path.exists():
        kept = backup_path(path)
        _write_atomically(kept, path.read_text(encoding="utf-8"))
    _write_atomically(path, text)
    return kept


_UNSET_VARIABLE = re.compile(r"\$(\w+|\{[^}]*\})")


def expand_path(text: str, key: str) -> str:
    """``text`` with ``~`` and ``$VARS`` (or ``${VARS}``) expanded, as a shell would;
    a variable that is not set is a ValueError naming ``key``."""
    expanded = os.path.expandvars(os.path.expanduser(text))
    if unset := _UNSET_VARIABLE.search(expanded):
        raise ValueError(f"{key}: {unset.group()} is not set (in {text!r})")
    return os.path.expanduser(expanded)  # "$HOME"-led values may now start with "~"
