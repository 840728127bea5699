"""The Taskloom SDK: what task authors import. No database, no HTTP.

Besides definitions and their records, it holds the plain values that
backend code gets from `TaskService` and the GraphQL schema reads: the read
models (`run_view.py`, `views.py`), the list filters (`filters.py`) and the
protocol of the service the schema is handed (`service_api.py`)."""

from taskloom.definitions.controller import TaskController, current_run
from taskloom.definitions.definition import AnyInput, TaskDefinition
from taskloom.definitions.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    TaskloomError,
    Unauthenticated,
    WaitTimeout,
)
from taskloom.definitions.function_task import task
from taskloom.definitions.records import (
    LogLevel,
    RunError,
    RunInfo,
    RunRequest,
    TaskStatus,
    WaitReason,
)
from taskloom.definitions.registry import Registry, register, registry
from taskloom.definitions.responses import (
    Aborted,
    Continue,
    Done,
    Error,
    Response,
    WaitForChildren,
)
from taskloom.definitions.retry import Retry
from taskloom.definitions.runtime import Runtime
from taskloom.definitions.steps import StepsTaskDefinition

__all__ = [
    "Aborted",
    "AnyInput",
    "Conflict",
    "Continue",
    "Done",
    "Error",
    "Forbidden",
    "InvalidInput",
    "LogLevel",
    "NotFound",
    "Registry",
    "Response",
    "Retry",
    "RunError",
    "RunInfo",
    "RunRequest",
    "Runtime",
    "StepsTaskDefinition",
    "TaskController",
    "TaskDefinition",
    "TaskStatus",
    "TaskloomError",
    "Unauthenticated",
    "WaitForChildren",
    "WaitReason",
    "WaitTimeout",
    "current_run",
    "register",
    "registry",
    "task",
]
