"""The definition's hooks at the end of an iteration: the one its transition
names (`on_done`, `on_error`, `on_abort`, `on_max_iterations`) and
`on_retry`, which may change the input of the next attempt or refuse it.

A hook that raises (sys.exit() included) does not change the run: its
failure becomes an ERROR line in the iteration's log rows."""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any

from sqlalchemy.engine import RowMapping

from taskloom.definitions.definition import TaskDefinition
from taskloom.definitions.records import LogLevel, TaskStatus
from taskloom.definitions.runtime import Clock
from taskloom.server.engine import hooks
from taskloom.server.engine.lifecycle import Transition
from taskloom.server.engine.outcome_rows import error_row, log_row
from taskloom.server.engine.retry_input import RetryRefused, retry_input

REFUSED = "refused"


async def call_hook(
    instance: TaskDefinition[Any],
    transition: Transition,
    row: RowMapping,
    log_rows: list[dict[str, Any]],
    executor: Executor,
    wall_clock: Clock,
) -> None:
    """Calls the hook `transition.hook` with the run as it ends up."""
    assert transition.hook is not None
    info = hooks.run_info(
        row,
        attempt=transition.attempt,
        status=TaskStatus(transition.status),
        state=transition.state,
        output=transition.output,
        error=transition.error,
    )
    try:
        await hooks.call(getattr(instance, transition.hook), info, executor=executor)
    except (Exception, SystemExit) as exc:  # sys.exit() in a hook: its failure only
        message, data = hooks.describe(exc, type(instance))
        log_rows.append(
            error_row(row, f"hook {transition.hook} failed: {message}", data, wall_clock())
        )


async def next_input(
    instance: TaskDefinition[Any],
    row: RowMapping,
    transition: Transition,
    log_rows: list[dict[str, Any]],
    executor: Executor,
    wall_clock: Clock,
) -> dict[str, Any] | str | None:
    """The input for the next attempt from `on_retry` (None: unchanged), or
    REFUSED when `on_retry` refused the retry."""
    try:
        return await retry_input(instance, row["input"], transition.error, executor)
    except RetryRefused as refusal:
        log_rows.append(log_row(row, LogLevel.WARNING, str(refusal), None, wall_clock()))
        return REFUSED
    except (Exception, SystemExit) as exc:
        message, data = hooks.describe(exc, type(instance))
        log_rows.append(error_row(row, f"hook on_retry failed: {message}", data, wall_clock()))
        return None
