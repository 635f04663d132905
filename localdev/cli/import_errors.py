"""A rejected import, as `localdev load` prints it: one line per problem (file, row, column,
what is wrong), the files by the names the user typed, and a missing file called a missing file
before anything is read.

Why not the ErrorResponse as it is: its message packs the first three problems into one
sentence and its details are JSON for programs; on a terminal a person reads lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.data.csv_import import DataImportError


def missing_files(files: dict[str, Path | None]) -> list[str]:
    """'the stores file stores.csv does not exist' for each given path that is not a file."""
    lines = []
    for kind, path in files.items():
        if path is None or path.is_file():
            continue
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        lines.append(f"the {kind} file {path} {what} (looked in {path.resolve().parent})")
    return lines


def problem_line(problem: dict[str, Any], files: dict[str, Path | None]) -> str:
    """'stores.csv, row 3, column store_size_sqft: 'abc' is not an integer'."""
    path = files.get(str(problem.get("file")))
    where = [path.name if path is not None else f"the {problem.get('file')} file"]
    row = problem.get("row")
    if row == 1:
        where.append("row 1 (the header)")
    elif row is not None:
        where.append(f"row {row}")
    if problem.get("column"):
        where.append(f"column {problem['column']}")
    return f"{', '.join(where)}: {problem.get('problem')}"


def import_error_lines(exc: DataImportError, files: dict[str, Path | None]) -> list[str]:
    """The summary, then one line per listed problem, then how many more there are."""
    problems = list(exc.details.get("problems") or [])
    total = int(exc.details.get("problem_count") or len(problems))
    if not problems:
        return [f"error: {exc.message}"]
    by_file = exc.details.get("problems_by_file") or {}
    names = [(files.get(kind) or Path(f"{kind}.csv")).name for kind in by_file if by_file.get(kind)]
    plural = "" if total == 1 else "s"
    lines = [f"error: nothing was imported: {total} problem{plural} in {', '.join(names)}"]
    lines += [f"  {problem_line(problem, files)}" for problem in problems]
    if total > len(problems):
        lines.append(f"  … and {total - len(problems)} more like them")
    return lines
