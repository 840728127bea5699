"""The arrows of docs/architecture.md, read from the code's own imports.

Every import counts: at module level, under `TYPE_CHECKING`, and inside
functions. Reads the source as text (ast); nothing is imported.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("definitions", "schema", "server")
DRIVERS = ("sqlite3", "aiosqlite", "asyncpg")
ADAPTERS = ("taskloom.server.store.sqlite", "taskloom.server.store.postgres")

# (importer prefix, imported prefix): arrows that must not exist.
FORBIDDEN = [
    ("taskloom.definitions", "taskloom.schema"),
    ("taskloom.definitions", "taskloom.server"),
    ("taskloom.schema", "taskloom.server"),
    ("taskloom.server.store", "taskloom.server.engine"),
    ("taskloom.server.store", "taskloom.server.events"),
    ("taskloom.server.store", "taskloom.server.auth"),
    ("taskloom.server.store", "taskloom.server.service"),
    ("taskloom.server.engine", "taskloom.server.service"),
    ("taskloom.server.engine", "taskloom.server.sync_service"),
    ("taskloom.server.engine", "taskloom.server.taskloom"),
    ("taskloom.server.store", "taskloom.server.taskloom"),
    # the remote client and the sync twin it shares with SyncTaskService
    # stay light: the SDK, httpx and websockets, nothing that runs
    *(
        (light, heavy)
        for light in ("taskloom.server.remote", "taskloom.server.sync_twin")
        for heavy in (
            "taskloom.schema",
            "taskloom.server.store",
            "taskloom.server.engine",
            "taskloom.server.service",
            "taskloom.server.events",
            "taskloom.server.auth",
            "taskloom.server.taskloom",
            "taskloom.server.sync_service",
            "taskloom.server.client",
        )
    ),
]


def module_name(path: Path) -> str:
    parts = ["taskloom", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    found = {}
    for folder in FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


def imports_of(name: str, path: Path) -> Iterator[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def graph() -> dict[str, set[str]]:
    known = modules()
    return {
        name: {target for target in imports_of(name, path) if target in known and target != name}
        for name, path in known.items()
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_layers_point_one_way() -> None:
    wrong = sorted(
        f"{importer} -> {target}"
        for importer, targets in graph().items()
        for target in targets
        for above, below in FORBIDDEN
        if within(importer, above) and within(target, below)
    )
    assert wrong == []


def test_only_the_store_adapters_import_database_drivers() -> None:
    wrong = sorted(
        f"{name} imports {target}"
        for name, path in modules().items()
        if not any(within(name, adapter) for adapter in ADAPTERS)
        for target in imports_of(name, path)
        if target.split(".")[0] in DRIVERS
    )
    assert wrong == []
