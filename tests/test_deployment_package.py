"""What Azure gets: the project folder less what .funcignore excludes (azd and Core Tools both
honour it). Local tooling (localdev/), benchmarks (bench/) and tests (tests/) must not ship, and
no shipped module may import them: in Azure that import would fail at run time, on whichever
request first reaches it.

.funcignore uses gitignore syntax; this project's file needs only its simple part (a name or a
glob, matched against any path component; a pattern with an inner "/" anchored at the root; a
trailing "/" for folders), and the first test holds it to that part so the matcher below stays
exact.
"""

from __future__ import annotations

import ast
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOCAL_ONLY = ("localdev", "bench", "tests")


def ignore_patterns() -> list[str]:
    lines = (ROOT / ".funcignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def excluded(relative: PurePosixPath, is_dir: bool, patterns: list[str]) -> bool:
    """Whether a .funcignore pattern excludes `relative` itself (its parents are checked as the
    walk descends)."""
    for pattern in patterns:
        dir_only = pattern.endswith("/")
        body = pattern.strip("/")
        if dir_only and not is_dir:
            continue
        if "/" in body:
            if fnmatchcase(relative.as_posix(), body):
                return True
        elif fnmatchcase(relative.name, body):
            return True
    return False


def shipped_files() -> list[PurePosixPath]:
    """Every file of the deployment package, as a path relative to the project root."""
    patterns = ignore_patterns()
    out: list[PurePosixPath] = []
    pending = [ROOT]
    while pending:
        folder = pending.pop()
        for entry in sorted(folder.iterdir()):
            relative = PurePosixPath(entry.relative_to(ROOT).as_posix())
            if excluded(relative, entry.is_dir(), patterns):
                continue
            if entry.is_dir():
                pending.append(entry)
            else:
                out.append(relative)
    return out


def first_party() -> set[str]:
    """Top-level names a project import can start with: the packages and modules at the root."""
    names = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    return names | {p.stem for p in ROOT.glob("*.py")}


def imported_modules(source: str) -> set[str]:
    """Absolute module names a file imports anywhere (module level or inside functions)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_funcignore_uses_only_the_syntax_this_test_understands():
    for pattern in ignore_patterns():
        assert not pattern.startswith("!"), f"negation is not modelled here: {pattern}"
        assert "**" not in pattern, f"'**' is not modelled here: {pattern}"


@pytest.mark.parametrize("folder", LOCAL_ONLY)
def test_local_only_folders_are_excluded(folder):
    assert (ROOT / folder).is_dir()
    assert excluded(PurePosixPath(folder), True, ignore_patterns())
    assert not any(path.parts[0] == folder for path in shipped_files())


def test_the_app_ships():
    shipped = set(shipped_files())
    for needed in ("function_app.py", "host.json", "requirements.txt"):
        assert PurePosixPath(needed) in shipped
    for package in ("orchestrator", "activities", "shared"):
        assert PurePosixPath(package, "__init__.py") in shipped


def test_no_hidden_files_ship_but_funcignore():
    """Tool caches (.pytest_cache, .mypy_cache, .ruff_cache, .hypothesis), .git, .venv and editor
    settings stay home."""
    hidden = [
        str(path)
        for path in shipped_files()
        if any(part.startswith(".") for part in path.parts) and str(path) != ".funcignore"
    ]
    assert not hidden


def test_no_shipped_module_imports_local_only_code():
    local_only = set(LOCAL_ONLY)
    found = []
    for path in shipped_files():
        if path.suffix == ".py":
            for module in imported_modules((ROOT / path).read_text()):
                if module.split(".")[0] in local_only:
                    found.append(f"{path}: {module}")
    assert not found, "shipped modules import local-only code:\n" + "\n".join(found)


def test_every_project_import_of_a_shipped_module_ships():
    """Wider than the local-only folders: anything a shipped module imports from the project must
    be in the package too."""
    shipped = set(shipped_files())
    project = first_party()
    missing = []
    for path in shipped:
        if path.suffix != ".py":
            continue
        for module in imported_modules((ROOT / path).read_text()):
            if module.split(".")[0] not in project:
                continue
            parts = module.split(".")
            candidates = (
                PurePosixPath(*parts).with_suffix(".py"),
                PurePosixPath(*parts, "__init__.py"),
            )
            if not any(c in shipped for c in candidates):
                missing.append(f"{path}: {module}")
    assert not missing, "shipped modules import what does not ship:\n" + "\n".join(missing)


def test_the_walk_sees_what_funcignore_excludes():
    """The matcher itself: names at any depth, globs, anchored paths, folder-only patterns."""
    patterns = ["tests", "*.db", "docs/build", "cache/"]
    assert excluded(PurePosixPath("tests"), True, patterns)
    assert excluded(PurePosixPath("shared/data/app.db"), False, patterns)
    assert excluded(PurePosixPath("docs/build"), True, patterns)
    assert not excluded(PurePosixPath("shared/docs/build"), True, patterns)
    assert excluded(PurePosixPath("shared/cache"), True, patterns)
    assert not excluded(PurePosixPath("shared/cache"), False, patterns)
    assert not excluded(PurePosixPath("shared/tables.py"), False, patterns)
