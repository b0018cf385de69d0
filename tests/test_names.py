"""Names that would become options or rewrite a terminal are refused (issue 14)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from syncd.model import name_problem, validate_name
from syncd.suggest import proposed_name
from syncd.tokens import load_token
from tests.helpers import Env, make_env


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path, identity=("me@example.com",))


@pytest.mark.parametrize("name", ["-w", "  --help", "a\nb", "a\x1b[2Jb", "a\0b", "x\x85y", ""])
def test_unusable_names(name: str) -> None:
    assert name_problem(name) is not None
    with pytest.raises(ValueError):
        validate_name(name)


@pytest.mark.parametrize("name", ["Priya Patel", "Jean-Luc", "O'Brien", "李四", "a - b"])
def test_usable_names(name: str) -> None:
    assert name_problem(name) is None
    assert validate_name(f" {name} ") == name


def test_contact_add_and_rename_refuse_an_option_like_name(env: Env) -> None:
    result = env.run("contact", "add", "--email", "w@example.org", "--", "-w")
    assert result.exit_code == 2
    assert "cannot start with '-'" in result.stderr and "Traceback" not in result.output
    assert env.run("contact", "add", "Wes", "--email", "w@example.org").exit_code == 0
    renamed = env.run("contact", "edit", "Wes", "--name", "line\nbreak")
    assert renamed.exit_code == 2 and "control characters" in renamed.stderr
    assert [c["name"] for c in env.json("contact", "list")] == ["Wes"]


def test_import_leaves_out_an_entry_with_an_option_like_name(env: Env, tmp_path: Path) -> None:
    vcf = tmp_path / "book.vcf"
    vcf.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:-w\r\nEMAIL:w@example.org\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bob\r\nEMAIL:bob@example.org\r\nEND:VCARD\r\n"
    )
    result = env.run("import", str(vcf))
    assert result.exit_code == 0, result.output
    assert "line 1: a name cannot start with '-'" in result.output
    assert [c["name"] for c in env.json("contact", "list")] == ["Bob"]


def test_suggest_never_proposes_an_option_like_name() -> None:
    assert proposed_name({"-w": 5, "Wes": 1}, "w@example.org") == "Wes"
    assert proposed_name({"-w": 5}, "w@example.org") == "w@example.org"


def test_a_token_file_readable_by_others_is_read_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token = tmp_path / "token.json"
    token.write_text('{"refresh_token": "SECRET"}')
    token.chmod(0o600)
    with caplog.at_level(logging.WARNING, logger="weakties.tokens"):
        assert load_token("gmail", str(token)) == '{"refresh_token": "SECRET"}'
    assert not caplog.records
    token.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="weakties.tokens"):
        load_token("gmail", str(token))
    [record] = caplog.records
    assert "mode 0644" in record.getMessage() and f"chmod 600 {token}" in record.getMessage()
    assert "SECRET" not in record.getMessage()
