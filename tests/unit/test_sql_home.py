"""SQL only in the store: no module outside server/store builds a statement
with SQLAlchemy or holds SQL text. Outside it, SQLAlchemy appears only as
the types that cross the store's interface (a row, the caller's session)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STORE = ROOT / "server" / "store"
# A row handed up by the store; the caller's own session for a transactional
# trigger, and its after-commit event (server/sync_service.py).
TYPES_THAT_CROSS = {"RowMapping", "Session", "AsyncSession", "event"}
SQL_TEXT = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|BEGIN|PRAGMA)\b")


def outside_the_store() -> list[Path]:
    return [
        path
        for folder in ("definitions", "schema", "server")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if STORE not in path.parents
    ]


def test_sqlalchemy_outside_the_store_is_only_the_types_that_cross_it() -> None:
    found = []
    for path in outside_the_store():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names if alias.name.startswith("sqlalchemy")]
                found += [f"{path.relative_to(ROOT)}: import {name}" for name in names]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                found += [
                    f"{path.relative_to(ROOT)}: {alias.name} from {node.module}"
                    for alias in node.names
                    if alias.name not in TYPES_THAT_CROSS
                ]
    assert found == []


def test_no_sql_text_outside_the_store() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in outside_the_store()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if SQL_TEXT.match(node.value)
    ]
    assert found == []
