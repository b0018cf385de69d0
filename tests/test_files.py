"""syncd.files.write_private: 0600 files in 0700 directories, atomic, an optional backup."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from syncd.files import backup_path, write_private


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_file_and_every_new_directory_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        target = tmp_path / "a" / "b" / "config.toml"
        assert write_private(target, "x = 1\n") is None
    finally:
        os.umask(old)
    assert target.read_text() == "x = 1\n"
    assert _mode(target) == 0o600
    assert _mode(tmp_path / "a") == 0o700 and _mode(tmp_path / "a" / "b") == 0o700
    assert sorted(p.name for p in target.parent.iterdir()) == ["config.toml"]


def test_replacing_without_backup_keeps_nothing(tmp_path: Path) -> None:
    target = tmp_path / "token.json"
    write_private(target, "old")
    assert write_private(target, "new") is None
    assert target.read_text() == "new" and not backup_path(target).exists()


def test_backup_keeps_the_old_file_private(tmp_path: Path) -> None:
    target = tmp_path / "config.toml"
    target.write_text("old\n")
    target.chmod(0o644)
    kept = write_private(target, "new\n", keep_backup=True)
    assert kept == tmp_path / "config.toml.bak"
    assert kept.read_text() == "old\n" and _mode(kept) == 0o600
    assert target.read_text() == "new\n" and _mode(target) == 0o600


def test_backup_of_nothing_is_none(tmp_path: Path) -> None:
    assert write_private(tmp_path / "config.toml", "x", keep_backup=True) is None
    assert not (tmp_path / "config.toml.bak").exists()


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "config.toml"
    target.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        write_private(target, "bad \udc80 surrogate")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]
