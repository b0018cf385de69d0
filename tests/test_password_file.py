"""``password_file``: read only if it is the user's own file that nobody else can read."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.errors import SecretError
from syncd.secrets import get_secret, read_password_file


def test_a_0600_file_is_read_with_one_trailing_newline_stripped(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("s3cret \n\n")
    path.chmod(0o600)
    assert read_password_file(str(path), "mail") == "s3cret \n"
    path.write_text("s3cret\r\n")
    assert get_secret("mail", None, str(path)) == "s3cret"


def test_a_file_others_may_read_is_refused_with_the_chmod_line(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("s3cret\n")
    path.chmod(0o644)
    with pytest.raises(SecretError) as caught:
        read_password_file(str(path), "mail")
    message = str(caught.value)
    assert f"chmod 600 {path}" in message and "0644" in message
    assert "s3cret" not in message and "\n" not in message


def test_not_a_regular_file_or_missing_or_empty(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match="not a regular file"):
        read_password_file(str(tmp_path), "mail")
    with pytest.raises(SecretError, match="No such file"):
        read_password_file(str(tmp_path / "nope"), "mail")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    empty.chmod(0o600)
    with pytest.raises(SecretError, match="empty"):
        read_password_file(str(empty), "mail")
