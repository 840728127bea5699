"""Records as --json prints them: plain JSON values with snake_case keys,
whether they come from GraphQL or straight from the service."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import datetime
from enum import Enum
from typing import Any

from taskloom.definitions.definition import TaskDefinition
from taskloom.definitions.run_view import RunView


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return str(value)


def plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=json_default))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# keys whose values are user JSON: their own keys are never renamed
_OPAQUE = frozenset({"input", "state", "output", "data", "input_schema"})


def snake_keys(value: Any) -> Any:
    """GraphQL's camelCase records as the snake_case ones of the service."""
    if isinstance(value, dict):
        renamed = {}
        for key, item in value.items():
            name = _snake(key)
            renamed[name] = item if name in _OPAQUE else snake_keys(item)
        return renamed
    if isinstance(value, list):
        return [snake_keys(item) for item in value]
    return value


def run_record(view: RunView) -> dict[str, Any]:
    """A RunView as the dict --json prints (the shape GraphQL mode gives too)."""
    record: dict[str, Any] = plain(asdict(view))
    if view.progress is not None:
        record["progress"]["percent"] = view.progress.percent
        record["progress"]["display"] = view.progress.display
    record.update(
        can_abort=view.can_abort,
        waiting_ms=view.waiting_ms,
        duration_ms=view.duration_ms,
        can_pause=view.can_pause,
        can_resume=view.can_resume,
        can_retry=view.can_retry,
    )
    return record


def definition_record(definition: type[TaskDefinition[Any]]) -> dict[str, Any]:
    retry = definition.retry
    return {
        "id": definition.id,
        "title": definition.title,
        "description": definition.description or (definition.__doc__ or "").strip(),
        "input_schema": definition.input_schema(),
        "max_iterations": definition.max_iterations,
        "iteration_timeout": float(definition.iteration_timeout),
        "retry": {
            "attempts": retry.attempts,
            "wait_seconds": retry.wait_seconds,
            "multiplier": retry.multiplier,
        },
    }
