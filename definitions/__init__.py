"""The Taskloom SDK: what task authors import. No database, no HTTP."""

from definitions.controller import TaskController, current_run
from definitions.definition import AnyInput, TaskDefinition
from definitions.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    TaskloomError,
    Unauthenticated,
    WaitTimeout,
)
from definitions.function_task import task
from definitions.records import LogLevel, RunError, RunInfo, RunRequest, TaskStatus
from definitions.registry import Registry, register, registry
from definitions.responses import Aborted, Continue, Done, Error, Response
from definitions.retry import Retry
from definitions.runtime import Runtime
from definitions.steps import StepsTaskDefinition

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
    "WaitTimeout",
    "current_run",
    "register",
    "registry",
    "task",
]
