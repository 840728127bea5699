"""What every part of the client shares: exit codes, the consoles, the
error it raises, and the calls a backend (GraphQL or database) answers."""

from __future__ import annotations

import sys
from typing import Any, Protocol

from rich.console import Console

from taskloom.definitions.views import ScheduleView

EXIT_ERROR = 1
EXIT_FAILED = 3
EXIT_ABORTED = 4
EXIT_TIMEOUT = 5
POLL_SECONDS = 0.25

# piped output is not cut to 80 columns: tables stay whole for grep and less
out = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 200)
# soft_wrap: a message piped elsewhere stays one line (no break mid-sentence)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class CliError(Exception):
    def __init__(
        self, message: str, *, errors: list[dict[str, Any]] | None = None, code: int = 1
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []
        self.code = code


class Backend(Protocol):
    def definitions(self) -> list[dict[str, Any]]: ...

    def runs(self, where: dict[str, Any], first: int) -> tuple[list[dict[str, Any]], int]: ...

    def get(self, run_id: str) -> dict[str, Any]: ...

    def dependencies(self, run_id: str) -> list[dict[str, Any]]: ...

    def logs(
        self, run_id: str, after: str | None, first: int
    ) -> tuple[list[dict[str, Any]], str | None]: ...

    def trigger(
        self,
        definition: str,
        data: Any,
        name: str | None,
        priority: int,
        delay: int | None,
        *,
        after: list[str] | None = None,
        deadline: float | None = None,
        expires: float | None = None,
    ) -> dict[str, Any]: ...

    def trigger_many(
        self, definition: str, inputs: list[Any], priority: int, delay: int | None
    ) -> list[dict[str, Any]]: ...

    def control(
        self, action: str, run_id: str, message: str | None, *, cascade: bool = True
    ) -> dict[str, Any]: ...

    def switch_definition(self, definition_id: str, pause: bool) -> None: ...

    def schedules(self) -> list[ScheduleView]: ...

    def create_schedule(
        self, definition_id: str, expression: str, timezone: str, data: Any
    ) -> ScheduleView: ...

    def delete_schedule(self, schedule_id: str) -> ScheduleView: ...

    def close(self) -> None: ...
