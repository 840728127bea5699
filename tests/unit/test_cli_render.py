"""How `taskloom show` prints a run on a terminal (server/client/render.py)."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from taskloom.server.client.render import run_details


def shown(run: dict[str, Any]) -> str:
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(run_details(run))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(text, str)
    return text


RUN = {"id": "r-1", "definition_id": "countdown", "status": "PENDING"}


def test_each_dependency_is_a_line_with_its_status() -> None:
    run = RUN | {
        "dependencies": [{"id": "d-1", "status": "SUCCEEDED"}, {"id": "d-2", "status": "RUNNING"}]
    }
    lines = shown(run).splitlines()
    assert [line.split() for line in lines if "d-" in line] == [
        ["depends", "on", "d-1", "SUCCEEDED"],
        ["d-2", "RUNNING"],
    ]


def test_children_are_counted_with_the_command_that_lists_them() -> None:
    lines = shown(RUN | {"children": 3}).splitlines()
    assert ["children", "3", "(taskloom", "runs", "--parent", "r-1)"] in [
        line.split() for line in lines
    ]


def test_a_run_without_either_prints_neither() -> None:
    text = shown(RUN | {"dependencies": [], "children": 0})
    assert "depends on" not in text and "children" not in text
