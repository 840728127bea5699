"""`taskloom trigger DEF --from-file runs.jsonl`: one input per line (JSON
Lines; blank lines are skipped), triggered as one batch, all or none. A
refused input is reported by its line number."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

import typer

from taskloom.server.client.base import Backend, CliError, err


@dataclass(frozen=True)
class InputLines:
    inputs: list[Any]
    line_numbers: list[int]  # the file's line of each input

    def trigger(
        self, backend: Backend, definition: str, priority: int, delay: int | None
    ) -> list[dict[str, Any]]:
        try:
            return backend.trigger_many(definition, self.inputs, priority, delay)
        except CliError as exc:
            for item in exc.errors:
                if isinstance(item.get("index"), int):
                    item["line"] = self.line_numbers[item["index"]]
            raise


def parse_lines(path: str) -> InputLines:
    """The inputs of the file (`-`: stdin); a line that is not JSON is an
    error naming it (exit status 2), and nothing is triggered."""
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
    except OSError as exc:
        err.print(f"[red]error:[/red] cannot read {path}: {exc.strerror}")
        raise typer.Exit(2) from None
    inputs: list[Any] = []
    numbers: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            inputs.append(json.loads(line))
        except json.JSONDecodeError as exc:
            err.print(f"[red]error:[/red] line {number} of {path} is not valid JSON: {exc.msg}")
            raise typer.Exit(2) from None
        numbers.append(number)
    return InputLines(inputs, numbers)
