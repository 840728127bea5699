"""The input `on_retry` chooses for a run's next attempt, or its refusal:
asked by the engine (an automatic retry) and by the service (a retry by
request)."""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any

from pydantic import BaseModel

from taskloom.definitions.definition import TaskDefinition
from taskloom.definitions.records import RunError
from taskloom.server.engine import hooks


class RetryRefused(Exception):
    """`on_retry` answered False: the run is not to be retried."""


async def retry_input(
    instance: TaskDefinition[Any],
    raw_input: dict[str, Any],
    error: RunError | None,
    executor: Executor | None = None,
) -> dict[str, Any] | None:
    """The input `on_retry` chose for the next attempt, validated and dumped;
    None when the definition keeps the input as it is. Raises RetryRefused
    when `on_retry` answers False."""
    if not hooks.overrides(instance, "on_retry"):
        return None
    definition = type(instance)
    model = definition.parse_input(raw_input)
    changed = await hooks.call(instance.on_retry, model, error, executor=executor)
    if changed is False:
        raise RetryRefused(f"{definition.id}.on_retry refused the retry")
    if changed is None:
        return None
    if isinstance(changed, BaseModel):
        changed = changed.model_dump(mode="json")
    dumped: dict[str, Any] = definition.parse_input(changed).model_dump(mode="json")
    return dumped
