"""Every logger weakties writes to is named under ``weakties.`` (issue 13, row 18)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _logger_names() -> list[tuple[str, ast.expr]]:
    found = []
    for package in ("syncd", "connectors"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if (
                    isinstance(node, ast.Assign)
                    and isinstance(node.value, ast.Call)
                    and ast.unparse(node.value.func) == "logging.getLogger"
                ):
                    found.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.value.args[0]))
    return found


def test_every_module_logger_is_under_weakties() -> None:
    names = _logger_names()
    assert len(names) >= 10  # the walk does find them
    wrong = [
        where
        for where, arg in names
        if not (
            isinstance(arg, ast.Constant)
            and isinstance(arg.value, str)
            and arg.value.startswith("weakties.")
        )
    ]
    assert wrong == []
