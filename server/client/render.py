"""Runs, logs and statuses as Rich text and tables for the terminal."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

from rich import box
from rich.table import Table
from rich.text import Text

from taskloom.definitions.records import LogLevel, TaskStatus
from taskloom.server.client.base import EXIT_ABORTED, EXIT_FAILED
from taskloom.server.client.records import json_default

# Records hold plain strings; TaskStatus and LogLevel members are equal to them.
STATUS_STYLE: dict[str, str] = {
    TaskStatus.PENDING: "yellow",
    TaskStatus.RUNNING: "cyan",
    TaskStatus.PAUSED: "magenta",
    TaskStatus.SUCCEEDED: "green",
    TaskStatus.FAILED: "red",
    TaskStatus.ABORTED: "bright_black",
}
LEVEL_STYLE: dict[str, str] = {
    LogLevel.ERROR: "red",
    LogLevel.WARNING: "yellow",
    LogLevel.DEBUG: "bright_black",
}
EXIT_CODES: dict[str, int] = {TaskStatus.FAILED: EXIT_FAILED, TaskStatus.ABORTED: EXIT_ABORTED}


def status_text(run: dict[str, Any]) -> Text:
    status = str(run["status"])
    text = Text(status, style=STATUS_STYLE.get(status, ""))
    if run.get("requested"):
        text.append(f" ({str(run['requested']).lower()} requested)", style="dim")
    return text


def waiting_text(run: dict[str, Any]) -> str | None:
    """ "waiting until 13:05:02 UTC" for a RUNNING run between iterations;
    "waiting for its children" (or "its dependencies") for a run that waits
    for other runs."""
    waiting = run.get("waiting")
    if not waiting:
        return None
    if not waiting.get("until"):
        return f"waiting for its {str(waiting.get('reason', '')).lower()}"
    return f"waiting until {str(waiting['until']).replace('T', ' ')[11:19]} UTC"


def progress_text(run: dict[str, Any], width: int = 12) -> Text:
    progress = run.get("progress")
    if not progress:
        return Text("")
    percent = progress.get("percent")
    label = progress.get("display") or f"{progress['current']:g}"
    if percent is None:
        return Text(label)
    if width == 0:
        return Text(label)
    filled = round(width * percent / 100)
    return Text.assemble(
        ("█" * filled, "green"), ("░" * (width - filled), "bright_black"), f" {label}"
    )


def _when(value: Any) -> str:
    if not value:
        return ""
    return str(value).replace("T", " ")[:19]


def _duration(ms: Any) -> str:
    if ms is None:
        return ""
    seconds = ms / 1000
    return f"{seconds:.1f}s" if seconds < 60 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


# The runs table's columns, most wanted first: on a narrow terminal the last
# ones go (whole), so ids are never cut and STATUS, DEFINITION and PROGRESS
# stay.
RUN_COLUMNS: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("ID", lambda run: run["id"]),
    ("STATUS", status_text),
    ("DEFINITION", lambda run: run["definition_id"]),
    ("PROGRESS", lambda run: progress_text(run, 8)),
    ("CREATED", lambda run: _when(run.get("created_at"))[5:]),
    ("DURATION", lambda run: _duration(run.get("duration_ms"))),
    ("NAME", lambda run: run.get("name") or ""),
]
ORDER = ["ID", "DEFINITION", "NAME", "STATUS", "PROGRESS", "CREATED", "DURATION"]


def _cell_width(cell: Any) -> int:
    return len(cell.plain if isinstance(cell, Text) else str(cell))


def run_table(runs: list[dict[str, Any]], title: str, width: int | None = None) -> Table:
    """The runs as a table no wider than `width` (None: any width)."""
    named = any(run.get("name") for run in runs)
    columns = [c for c in RUN_COLUMNS if named or c[0] != "NAME"]
    cells = {name: [cell(run) for run in runs] for name, cell in columns}

    def too_wide() -> bool:  # cells, 3 between columns, 2 at each edge
        widths = [max([len(name), *map(_cell_width, cells[name])]) for name, _ in columns]
        return width is not None and sum(widths) + 3 * (len(widths) - 1) + 4 > width

    if too_wide():  # progress as its label alone, before any column goes
        cells["PROGRESS"] = [progress_text(run, 0) for run in runs]
    while len(columns) > 3 and too_wide():
        columns.pop()
    shown = [name for name in ORDER if any(name == n for n, _ in columns)]
    table = Table(title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD)
    for name in shown:
        justify: Literal["left", "right"] = "right" if name == "DURATION" else "left"
        table.add_column(name, no_wrap=name != "NAME", justify=justify)
    for i in range(len(runs)):
        table.add_row(*(cells[name][i] for name in shown))
    return table


def run_details(run: dict[str, Any]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()

    def row(label: str, value: Any) -> None:
        if value is None or value == "" or value == {}:
            return
        if isinstance(value, dict | list):
            value = json.dumps(value, default=json_default)
        table.add_row(label, value if isinstance(value, Text) else str(value))

    row("id", run["id"])
    row("definition", run["definition_id"])
    row("name", run.get("name"))
    row("status", status_text(run))
    row("waiting", waiting_text(run))
    row("message", run.get("status_message"))
    row("progress", progress_text(run, 20) if run.get("progress") else None)
    row("iterations", run.get("iterations"))
    row("attempt", run.get("attempt"))
    row("priority", run.get("priority"))
    row("input", run.get("input"))
    row("state", run.get("state"))
    row("output", run.get("output"))
    error = run.get("error")
    if error:
        row("error", f"{error.get('code') or 'ERROR'}: {error.get('message')}")
    row("created", _when(run.get("created_at")))
    row("started", _when(run.get("started_at")))
    row("finished", _when(run.get("finished_at")))
    row("duration", _duration(run.get("duration_ms")))
    row("parent", run.get("parent_id"))
    for index, dependency in enumerate(run.get("dependencies") or ()):
        label = "" if index else "depends on"
        row(label, Text.assemble(f"{dependency['id']} ", status_text(dependency)))
    if run.get("children"):
        row("children", f"{run['children']} (taskloom runs --parent {run['id']})")
    return table


def log_line(line: dict[str, Any]) -> Text:
    level = str(line["level"])
    style = LEVEL_STYLE.get(level, "")
    text = Text.assemble(
        (_when(line.get("created_at"))[11:] + " ", "bright_black"),
        (f"{level:<7} ", style),
        (f"#{line.get('iteration', 0)} ", "bright_black"),
        line["message"],
    )
    inline, blocks = log_data_parts(line.get("data"))
    if inline is not None:
        text.append(" " + inline, style="bright_black")
    for name, block in blocks:
        text.append(f"\n  {name}:\n" if name else "\n", style="bright_black")
        text.append("\n".join("    " + row for row in block.rstrip("\n").splitlines()))
    return text


INLINE_WIDTH = 80


def log_data_parts(data: Any) -> tuple[str | None, list[tuple[str, str]]]:
    """A log line's data as people read it: short JSON on the line itself;
    multi-line strings (a traceback) as their own blocks, with real line
    breaks; longer JSON indented on lines of its own. Returns the inline
    part and the (name, text) blocks."""
    if data is None:
        return None, []
    blocks: list[tuple[str, str]] = []
    rest = data
    if isinstance(data, dict):
        rest = {}
        for key, value in data.items():
            if isinstance(value, str) and "\n" in value:
                blocks.append((str(key), value))
            else:
                rest[key] = value
    elif isinstance(data, str) and "\n" in data:
        return None, [("", data)]
    if rest == {} and blocks:
        return None, blocks
    flat = json.dumps(rest, default=json_default, ensure_ascii=False)
    if len(flat) <= INLINE_WIDTH:
        return flat, blocks
    pretty = json.dumps(rest, default=json_default, ensure_ascii=False, indent=2)
    return None, [("data", pretty), *blocks]


def exit_code_for(run: dict[str, Any]) -> int:
    return EXIT_CODES.get(str(run["status"]), 0)
