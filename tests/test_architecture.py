"""The import rules ARCHITECTURE.md states, checked on the code.

Connectors never import ``syncd``; ``syncd/model.py`` and ``syncd/clock.py``
import nothing of the project; the pure layers never import the store, the ORM or SQLAlchemy, and
importing them does not load SQLAlchemy by any path.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PURE = (
    "syncd.lapses",
    "syncd.suggest",
    "syncd.notify.wording",
    "syncd.notify.base",
    "syncd.notify.command",
    "syncd.notify.log",
    "syncd.rules",
    "syncd.digest",
    "syncd.meetings",
)
FORBIDDEN_IN_PURE = ("syncd.store", "syncd.models", "syncd.schema", "sqlalchemy")
PROJECT = ("syncd", "connectors")


def _module_path(module: str) -> Path:
    path = ROOT.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _imports(path: Path) -> set[str]:
    """Every module an ``import`` or ``from ... import`` in the file names
    (for ``from a import b``: both ``a`` and ``a.b``, as b may be a module)."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                package = path.relative_to(ROOT).with_suffix("").parts[: -node.level]
                base = ".".join((*package, node.module) if node.module else package)
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _names(found: set[str], prefixes: tuple[str, ...]) -> set[str]:
    return {m for m in found if any(m == p or m.startswith(p + ".") for p in prefixes)}


def _fresh_python(code: str) -> str:
    """What ``code`` prints when run in a fresh interpreter from the project root."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


@pytest.mark.parametrize("module", PURE)
def test_pure_layer_does_not_load_sqlalchemy(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "bad = sorted(m for m in sys.modules if m == 'sqlalchemy' or m == 'syncd.store')\n"
        "print(','.join(bad))\n"
    )
    assert _fresh_python(code) == ""


def test_the_checker_sees_a_forbidden_import() -> None:
    """The subprocess check is not vacuous: the store's sync path does load SQLAlchemy
    (the facade itself no longer does: the read commands go without it)."""
    code = "import sys, syncd.store.sync_writes; print('sqlalchemy' in sys.modules)"
    assert _fresh_python(code) == "True"


def test_connectors_import_nothing_of_syncd() -> None:
    files = sorted((ROOT / "connectors").rglob("*.py"))
    assert files
    bad = {str(f.relative_to(ROOT)): _names(_imports(f), ("syncd",)) for f in files}
    assert {f: m for f, m in bad.items() if m} == {}


@pytest.mark.parametrize("module", ["model", "clock"])
def test_model_and_clock_import_only_the_standard_library(module: str) -> None:
    found = _imports(ROOT / "syncd" / f"{module}.py")
    top = {m.split(".")[0] for m in found}
    assert top <= set(sys.stdlib_module_names) | {"__future__"}, top
    assert _names(found, PROJECT) == set()


@pytest.mark.parametrize("module", PURE)
def test_pure_layer_imports_no_store(module: str) -> None:
    assert _names(_imports(_module_path(module)), FORBIDDEN_IN_PURE) == set()


def test_the_import_parser_sees_the_stores_imports() -> None:
    found = _imports(ROOT / "syncd" / "store" / "sync_writes.py")
    assert _names(found, FORBIDDEN_IN_PURE) >= {"sqlalchemy", "syncd.schema"}


def test_errors_import_only_the_standard_library() -> None:
    found = _imports(ROOT / "syncd" / "errors.py")
    assert {m.split(".")[0] for m in found} <= set(sys.stdlib_module_names) | {"__future__"}


#: The only modules that may speak SQL: the store package, the tables, the ORM
#: classes, the migrations, and the URL parser (it builds SQLAlchemy URLs).
SQL_ALLOWED = ("syncd/store/", "syncd/schema.py", "syncd/models.py", "syncd/migrations/")
SQL_ALLOWED_FILES = ("syncd/dburl.py",)


def test_only_the_store_knows_sql() -> None:
    files = sorted((ROOT / "syncd").rglob("*.py"))
    speaking = {
        rel
        for f in files
        if _names(_imports(f), ("sqlalchemy", "alembic"))
        and not (rel := str(f.relative_to(ROOT))).startswith(SQL_ALLOWED)
        and rel not in SQL_ALLOWED_FILES
    }
    assert speaking == set()


#: What the connectors' protocol libraries are imported as.
PROTOCOL_LIBRARIES = (
    "imapclient",
    "googleapiclient",
    "google_auth_oauthlib",
    "caldav",
    "icalendar",
)


@pytest.mark.parametrize("module", ["syncd.engine", "syncd.config", "syncd.accounts"])
def test_loading_the_engine_or_the_registry_loads_no_protocol_library(module: str) -> None:
    code = (
        f"import sys, {module}; "
        f"print(sorted(m for m in {PROTOCOL_LIBRARIES!r} if m in sys.modules))"
    )
    assert _fresh_python(code) == "[]"


def test_the_protocol_check_sees_a_protocol_library() -> None:
    loaded = f"[m for m in {PROTOCOL_LIBRARIES!r} if m in sys.modules]"
    code = f"import sys, connectors.imap; print({loaded})"
    assert _fresh_python(code) == "['imapclient']"


#: ``type == "imap"``, ``.type != 'gmail'``, ``type in ("caldav", ...)``: a branch on an
#: account type's name.
_TYPE_BRANCH = re.compile(r"""\btype\s*(?:==|!=|\bin\b|\bnot in\b)\s*[("'{\[]""")


def test_no_branch_on_an_account_type_outside_the_registry() -> None:
    """Everything about an account type lives in its entry (syncd/accounts/<type>.py)."""
    found = []
    for path in sorted((ROOT / "syncd").rglob("*.py")):
        if path.parent.name == "accounts":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if _TYPE_BRANCH.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def test_the_type_branch_check_sees_a_branch() -> None:
    assert _TYPE_BRANCH.search('    if acct.type == "gmail":')
    assert _TYPE_BRANCH.search("calendar = account.type in ('caldav', 'ics')")
    assert not _TYPE_BRANCH.search("entry = REGISTRY[account.type]")


def test_every_account_type_has_a_complete_entry() -> None:
    from syncd.accounts import REGISTRY

    assert {"caldav", "gmail", "ics", "imap"} <= set(REGISTRY)  # tests add "memory"
    for name, entry in REGISTRY.items():
        if name == "memory":
            continue
        assert entry.name == name and entry.source in ("mail", "calendar")
        assert entry.ask is not None and entry.auth_help
        assert dataclasses.is_dataclass(entry.settings)


def test_json_output_is_chosen_in_one_place() -> None:
    """Every ``--json`` flag is ``formatters.json_option``: a command gets a formatter."""
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "syncd" / "cli").glob("*.py"))
        if path.name != "formatters.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if '"--json"' in line
    ]
    assert found == []


def test_status_loads_only_what_it_shows(tmp_path: Path) -> None:
    """``weakties status`` on a current SQLite file: no SQLAlchemy, and neither the
    address grammar nor the mail modules (their regexes cost tens of milliseconds)."""
    (tmp_path / "d").mkdir(mode=0o700)
    config = tmp_path / "config.toml"
    config.write_text("[identity]\naddresses = ['me@example.org']\n")
    db = f"sqlite:///{tmp_path}/d/w.db"
    from syncd.store import open_store

    store = open_store(db)  # created and current
    store.add_contact("Priya", ["priya@example.org"], None, [], datetime.now(UTC))
    store.close()
    heavy = ("sqlalchemy", "syncd.addresses", "syncd.suggest", "syncd.digest", "email.message")
    code = (
        "import os, sys\n"
        f"os.environ['WEAKTIES_DB'] = {db!r}\n"
        "from syncd.cli import main\n"
        f"main(['--config', {str(config)!r}, 'status'], standalone_mode=False)\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    assert _fresh_python(code).splitlines()[-1] == "[]"
