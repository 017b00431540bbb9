"""The house's two rules that no reviewer should have to check by eye.

1. Imports run one way (DESIGN §4, STYLE 1): transports and the dispatcher (bot/) use
   flows/, flows/ use the storage interfaces, and storage/ knows nothing of the layers above
   it but the domain's words; messages/ words replies and knows neither the runtime nor the
   database; bot/ (the running service) never imports admin/ (the office's tools), while
   admin/ may import anything.
2. An enrolment's status is spelled once, in flows/enrollment_status.py: anywhere else a
   bare "draft" or "submitted" would be a second spelling that a new status or a renamed one
   silently misses. The Alembic migrations keep their literals (they are history, and must
   read as they ran), and tests keep theirs: a test that pins the stored strings is what
   shows a change of the vocabulary needs a data migration.

Both walk the whole tree, so a module added tomorrow is checked without being listed here,
and both count an import or a literal inside a function as much as one at the top.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path

from flows.enrollment_status import EnrollmentStatus

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("admin", "bot", "flows", "messages", "storage")
# The domain's words in flows/: what storage/ and messages/ may import from there. None of
# them imports anything of the project but another of them, and none holds a rule but the
# lifecycle's table, which storage reads to guard every move (docs/architecture.md).
VOCABULARY = frozenset({
    "flows.audiences", "flows.chat_types", "flows.enrollment_status", "flows.lifecycle",
    "flows.masking", "flows.months", "flows.roles", "flows.states", "flows.time_zone",
})
# The chat platforms and the database driver: DESIGN §4 keeps flows free of them.
PLATFORMS = frozenset({"telegram", "pywa", "sqlalchemy"})
STATUS_HOME = Path("flows/enrollment_status.py")
STATUSES = frozenset(status.value for status in EnrollmentStatus)


def _sources(root: Path, top: tuple[str, ...] | None = None) -> Iterator[Path]:
    """Every Python file below `root` (only under the folders `top`, when given), skipping
    hidden folders (.venv, .git) and caches."""
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders
                               if not name.startswith(".") and name != "__pycache__")
        relative = Path(folder).relative_to(root)
        if top is not None and relative.parts and relative.parts[0] not in top:
            continue
        for name in sorted(files):
            if name.endswith(".py") and (top is None or relative.parts):
                yield Path(folder, name)


def _module(root: Path, path: Path) -> tuple[str, bool]:
    """The dotted name of the module at `path`, and whether it is a package's __init__."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    package = parts[-1] == "__init__"
    if package:
        parts.pop()
    return ".".join(parts), package


def _imports(tree: ast.AST, module: str, package: bool, known: set[str]
             ) -> Iterator[tuple[int, str]]:
    """(line, module imported) for every import anywhere in the tree, functions included;
    `from storage import sqlite_inline` imports storage.sqlite_inline, not storage."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the importer's package, one level up per dot
                anchor = module.split(".") if package else module.split(".")[:-1]
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                name = f"{base}.{alias.name}"
                yield node.lineno, name if name in known else base


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _breach(importer: str, imported: str) -> str | None:
    """Why `importer` may not import `imported`, or None when it may."""
    layer = importer.split(".")[0]
    if layer == "flows":
        if _within(imported, "bot") or _within(imported, "admin"):
            return "flows/ serve bot/ and admin/, they do not import them"
        if _within(imported, "storage") and imported != "storage.interfaces":
            return "flows/ reach storage through storage.interfaces only"
        if _within(imported, "messages"):
            return "flows/ return replies as data; messages/ words them"
        if imported.split(".")[0] in PLATFORMS:
            return "flows/ import no chat platform and no database driver"
    if layer == "storage":
        if _within(imported, "flows") and imported not in VOCABULARY:
            return ("storage/ may import flows' vocabulary, never its rules (the caller "
                    "passes in what a rule computed)")
        for above in ("messages", "bot", "admin"):
            if _within(imported, above):
                return f"storage/ knows nothing of {above}/"
    if layer == "messages":
        for other in ("bot", "admin", "storage"):
            if _within(imported, other):
                return f"messages/ word replies and import nothing of {other}/"
        if _within(imported, "flows") and imported not in VOCABULARY | {"flows.events"}:
            return "messages/ import flows.events and the vocabulary only"
    if layer == "bot" and _within(imported, "admin"):
        return "bot/ (the running service) never imports admin/ (the office's tools)"
    if importer in VOCABULARY and imported.split(".")[0] in PACKAGES and (
            imported not in VOCABULARY):
        return "the vocabulary imports nothing of the project but the vocabulary"
    return None


def import_breaches(root: Path) -> list[str]:
    """Every import against the rules in the packages below `root`, as "path:line: ..."."""
    paths = list(_sources(root, PACKAGES))
    known = {_module(root, path)[0] for path in paths}
    found = []
    for path in paths:
        module, package = _module(root, path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, imported in sorted(_imports(tree, module, package, known)):
            reason = _breach(module, imported)
            if reason is not None:
                where = path.relative_to(root).as_posix()
                found.append(f"{where}:{line}: {module} imports {imported}: {reason}")
    return found


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the string constants that are docstrings (or other bare expressions)."""
    return {id(node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}


def _words(node: ast.AST) -> list[ast.Constant]:
    """The string elements of a literal collection (or the keys of a literal dict)."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [item for item in node.elts
                if isinstance(item, ast.Constant) and isinstance(item.value, str)]
    if isinstance(node, ast.Dict):
        return [key for key in node.keys
                if isinstance(key, ast.Constant) and isinstance(key.value, str)]
    return []


def _mixed(tree: ast.AST) -> set[int]:
    """The ids of status strings that stand in a list of other words as well: "active" among
    the words a BPJS result file may write, or "registered" as one key of an audit record's
    counts, is a word that happens to be spelled like a status, not the status."""
    ids = set()
    for node in ast.walk(tree):
        words = _words(node)
        if any(word.value not in STATUSES for word in words):
            ids |= {id(word) for word in words}
    return ids


def status_literals(root: Path) -> list[str]:
    """Every enrolment status written as a bare string outside its home (the vocabulary),
    the migrations and the tests, as "path:line: ..."."""
    found = []
    for path in _sources(root):
        relative = path.relative_to(root)
        if (relative == STATUS_HOME or relative.parts[0] == "tests"
                or relative.parts[:2] == ("storage", "migrations")):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        skipped = _docstrings(tree) | _mixed(tree)
        literals = sorted((node.lineno, node.col_offset, node.value) for node in ast.walk(tree)
                          if isinstance(node, ast.Constant) and node.value in STATUSES
                          and id(node) not in skipped)
        found += [f"{relative.as_posix()}:{line}: {value!r}: "
                  f"use EnrollmentStatus.{EnrollmentStatus(value).name}"
                  for line, _, value in literals]
    return found


ARCHITECTURE = ROOT / "docs" / "architecture.md"


def _part(module: str) -> str:
    """The box of docs/architecture.md's picture that a module belongs to."""
    if module in VOCABULARY:
        return "vocabulary"
    if module in {"storage.interfaces", "flows.events"}:
        return module.split(".")[1]
    return module.split(".")[0]


def package_arrows(root: Path) -> set[tuple[str, str]]:
    """Which box imports which, over every module below `root` (lazy imports too)."""
    paths = list(_sources(root, PACKAGES))
    known = {_module(root, path)[0] for path in paths}
    arrows = set()
    for path in paths:
        module, package = _module(root, path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for _, imported in _imports(tree, module, package, known):
            if imported.split(".")[0] in PACKAGES and _part(module) != _part(imported):
                arrows.add((_part(module), _part(imported)))
    return arrows


def test_the_architecture_picture_shows_the_imports_the_code_has() -> None:
    drawn = {(source, target) for source, target in
             (line.strip().split(" --> ") for line in
              ARCHITECTURE.read_text(encoding="utf-8").splitlines() if " --> " in line)}
    actual = package_arrows(ROOT)
    assert drawn == actual, (f"docs/architecture.md misses {sorted(actual - drawn)} and "
                             f"draws {sorted(drawn - actual)}, which the code does not have")


def test_imports_run_one_way() -> None:
    breaches = import_breaches(ROOT)
    assert not breaches, "imports against DESIGN §4:\n" + "\n".join(breaches)


def test_enrolment_statuses_are_spelled_once() -> None:
    literals = status_literals(ROOT)
    assert not literals, (f"status literals outside {STATUS_HOME}:\n" + "\n".join(literals))


def _plant(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_the_import_check_names_each_breach_and_its_line(tmp_path: Path) -> None:
    """The checks above pass on the tree; here they are shown a tree that breaks each rule
    (a lazy import inside a function among them), so a check that sees nothing fails."""
    root = _plant(tmp_path, {
        "flows/__init__.py": "",
        "flows/menu.py": "from storage.interfaces import RoleView\n"
                         "def build():\n    from bot.app import build_router\n",
        "flows/deduction.py": "from storage import enrollments\nimport sqlalchemy\n",
        "flows/time_zone.py": "from flows.premium import rate_on\n",
        "storage/__init__.py": "",
        "storage/enrollments.py": "from flows.time_zone import JAKARTA\n\n"
                                  "async def f():\n    from flows.premium import rate_on\n",
        "storage/reports.py": "from messages.formatting import JAKARTA\n"
                              "from . import enrollments\n",
        "messages/formatting.py": "from flows.events import Reply\nfrom storage import reports\n",
        "bot/telegram.py": "import admin.cli\n",
        "admin/cli.py": "from bot.app import App\nfrom storage.reports import month_before\n",
    })
    assert [": ".join(line.split(": ")[:2]) for line in import_breaches(root)] == [
        "bot/telegram.py:1: bot.telegram imports admin.cli",
        "flows/deduction.py:1: flows.deduction imports storage.enrollments",
        "flows/deduction.py:2: flows.deduction imports sqlalchemy",
        "flows/menu.py:3: flows.menu imports bot.app",
        "flows/time_zone.py:1: flows.time_zone imports flows.premium",
        "messages/formatting.py:2: messages.formatting imports storage.reports",
        "storage/enrollments.py:4: storage.enrollments imports flows.premium",
        "storage/reports.py:1: storage.reports imports messages.formatting",
    ]


def test_the_status_check_names_each_literal_and_its_line(tmp_path: Path) -> None:
    root = _plant(tmp_path, {
        "storage/enrollments.py": '"""A "draft" in a docstring is prose."""\n'
                                  "def stop(row):\n"
                                  "    if row.status == 'draft':\n"
                                  "        row.status = 'ended'\n",
        "bench/dataset.py": "WEIGHTS = {'active': 40, 'rejected': 3}\n",
        "admin/bpjs_import.py": "WORDS = {'terdaftar', 'registered', 'active'}\n"
                                "COUNTS = {'count': 1, 'registered': 2}\n"
                                "HELD = ('verified', 'registered')\n",
        "flows/enrollment_status.py": "DRAFT = 'draft'\n",
        "storage/migrations/versions/0001_initial.py": "WHERE = 'active'\n",
        "tests/test_x.py": "assert 'submitted'\n",
    })
    assert [line.rsplit(": ", 1)[0] for line in status_literals(root)] == [
        "admin/bpjs_import.py:3: 'verified'",
        "admin/bpjs_import.py:3: 'registered'",
        "bench/dataset.py:1: 'active'",
        "bench/dataset.py:1: 'rejected'",
        "storage/enrollments.py:3: 'draft'",
        "storage/enrollments.py:4: 'ended'",
    ]
