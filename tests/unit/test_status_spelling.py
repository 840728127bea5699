"""`TaskStatus` is the only spelling of a run's status: no string in the
code names one, outside the status module and the migrations (which must
stay as they were written)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from taskloom.definitions.records import TaskStatus

ROOT = Path(__file__).resolve().parents[2]
STATUS_MODULE = ROOT / "definitions" / "records.py"
STATUSES = "|".join(status.value for status in TaskStatus)
# A string that is a status, or SQL text that quotes one ('RUNNING'); prose
# in descriptions and messages ("is PAUSED at once") is not a spelling.
STATUS_LITERAL = re.compile(rf"^({STATUSES})$|'({STATUSES})'")


def strings_in(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_no_status_literal_outside_the_status_module() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text!r}"
        for folder in ("definitions", "schema", "server")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != STATUS_MODULE and "migrations" not in path.parts
        for line, text in strings_in(path)
        if STATUS_LITERAL.search(text)
    ]
    assert found == []
