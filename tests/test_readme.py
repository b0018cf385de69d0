"""README.md stays one document: each section once, the test command the one CI runs."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _headings(text: str) -> list[str]:
    """The Markdown headings outside fenced code blocks."""
    found, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            found.append(line)
    return found


def test_every_readme_section_appears_once() -> None:
    repeated = {
        h: n for h, n in Counter(_headings((ROOT / "README.md").read_text())).items() if n > 1
    }
    assert repeated == {}


def test_the_heading_check_sees_a_repeated_section() -> None:
    text = "# a\n## Performance\n```sh\n# a comment\n```\n## Performance\n"
    assert _headings(text) == ["# a", "## Performance", "## Performance"]


def test_ci_runs_the_readmes_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, re.S)
    assert blocks[1] == "./scripts/test"  # the second command of the opening two
    assert re.search(r"^\./scripts/test\b", (ROOT / ".ci/run").read_text(), re.M)
