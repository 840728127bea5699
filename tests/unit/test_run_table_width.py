"""`taskloom runs` at 80 columns keeps whole ids, STATUS, DEFINITION and
PROGRESS; the lesser columns (NAME, DURATION, CREATED) go first."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from taskloom.server.client.render import run_table

RUN: dict[str, Any] = {
    "id": "01a24b7e-a248-7f6b-9f6a-6eab11437d4a",
    "definition_id": "countdown",
    "status": "RUNNING",
    "progress": {"current": 2, "total": 5, "percent": 40.0, "display": "2 of 5 steps"},
    "created_at": "2026-12-06T14:00:00",
    "duration_ms": 12_000,
    "name": "nightly import",
}


def shown(width: int | None, columns: int) -> str:
    console = Console(width=columns, record=True, color_system=None)
    console.print(run_table([RUN], "1 of 1 runs", width))
    return console.export_text()


def test_at_80_columns_ids_stay_whole_and_lesser_columns_go() -> None:
    text = shown(80, 80)
    header = next(line for line in text.splitlines() if "ID" in line).split()
    assert header == ["ID", "DEFINITION", "STATUS", "PROGRESS"]
    assert RUN["id"] in text and "2 of 5 steps" in text
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 80


def test_wide_or_piped_shows_every_column() -> None:
    header = next(line for line in shown(None, 200).splitlines() if "ID" in line).split()
    assert header == ["ID", "DEFINITION", "NAME", "STATUS", "PROGRESS", "CREATED", "DURATION"]
