"""The project's own promises: the README's commands are what CI runs, a fresh machine needs
nothing but what pyproject.toml declares, and the code is lint clean."""

import ast
import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = {"bot", "admin", "flows", "storage", "messages", "tests", "bench"}


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", item, maxsplit=1)[0].lower().replace("_", "-")
            for item in requirements}


def _third_party_imports(folders: list[str]) -> set[str]:
    modules: set[str] = set()
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    modules.add(node.module.split(".")[0])
    return {m for m in modules if m not in sys.stdlib_module_names and m not in OURS}


def _declared() -> tuple[set[str], set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = _requirement_names(project["dependencies"])
    test = _requirement_names(project["optional-dependencies"]["test"])
    return runtime, test


def _distributions(module: str) -> set[str]:
    return {name.lower().replace("_", "-") for name in packages_distributions().get(module, [])}


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "./dev demo" in readme and "./dev test" in readme
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.strip().splitlines()[-1] == "exec ./dev test"


def test_runtime_code_imports_only_declared_dependencies():
    runtime, _ = _declared()
    for module in _third_party_imports(["bot", "admin", "flows", "storage", "messages"]):
        assert _distributions(module) & runtime, f"{module} is imported but not a dependency"


def test_tests_import_only_declared_dependencies():
    runtime, test = _declared()
    for module in _third_party_imports(["tests"]):
        assert _distributions(module) & (runtime | test), f"{module} is not declared"


def test_flows_import_no_platform_or_database_library():
    """DESIGN.md §4: flows import neither telegram, pywa nor sqlalchemy."""
    forbidden = {"telegram", "pywa", "sqlalchemy", "aiogram"}
    assert not _third_party_imports(["flows"]) & forbidden


def test_no_tests_collected_is_a_failure():
    env = {**os.environ, "PYTHON": sys.executable}
    result = subprocess.run(
        ["./dev", "test", "-q", "-k", "no_test_has_this_name_zz"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode != 0
    assert "collected no tests" in result.stderr


def test_ruff_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--quiet", "."],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _imported_modules(path: Path) -> set[str]:
    """The dotted names `path` imports, with `from tests.x import test_y` as tests.x.test_y."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_test_module_imports_another():
    """A world, seed or helper two test modules share lives in tests/support/, named for what
    it holds: a test module that borrows from another breaks when that one is moved or split,
    and a reader looking for the shared thing finds it among tests of something else."""
    offenders = sorted(
        f"{path.relative_to(ROOT)} imports {module}"
        for path in (ROOT / "tests").rglob("*.py")
        for module in _imported_modules(path)
        if module.startswith("tests.") and module.rsplit(".", 1)[-1].startswith("test_")
    )
    assert offenders == []
