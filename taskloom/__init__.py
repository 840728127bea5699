"""Taskloom: background tasks as iterating definitions, persisted in SQLite or
PostgreSQL, reachable through GraphQL, Python and the command line.

The public API is importable from here:

    from taskloom import Taskloom, TaskDefinition, TaskController, register

The task authors' SDK (`taskloom.definitions`) is imported at once; the
server's names (`Taskloom`, `TaskService`, `Client`, ...) on first use, so that the
command line starts without loading the store, the engine or GraphQL.

The three folders of the repository are the three sub-packages:
`taskloom.definitions` (the SDK), `taskloom.schema` (GraphQL) and
`taskloom.server` (everything that runs). docs/architecture.md maps them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from taskloom.definitions import (
    Aborted,
    AnyInput,
    Conflict,
    Continue,
    Done,
    Error,
    Forbidden,
    InvalidInput,
    LogLevel,
    NotFound,
    Registry,
    Response,
    Retry,
    RunError,
    RunInfo,
    RunRequest,
    Runtime,
    StepsTaskDefinition,
    TaskController,
    TaskDefinition,
    TaskloomError,
    TaskStatus,
    Unauthenticated,
    WaitForChildren,
    WaitReason,
    WaitTimeout,
    current_run,
    register,
    registry,
    task,
)
from taskloom.definitions.service_api import RunsAPI

if TYPE_CHECKING:
    from taskloom.definitions.filters import LogFilter, RunFilter
    from taskloom.server.remote import Client, SyncClient, Unreachable
    from taskloom.server.service import TaskService
    from taskloom.server.settings import Settings
    from taskloom.server.sync_service import SyncTaskService
    from taskloom.server.taskloom import Taskloom

__all__ = [
    "Aborted",
    "AnyInput",
    "Client",
    "Conflict",
    "Continue",
    "Done",
    "Error",
    "Forbidden",
    "InvalidInput",
    "LogFilter",
    "LogLevel",
    "NotFound",
    "Registry",
    "Response",
    "Retry",
    "RunError",
    "RunFilter",
    "RunInfo",
    "RunRequest",
    "RunsAPI",
    "Runtime",
    "Settings",
    "StepsTaskDefinition",
    "SyncClient",
    "SyncTaskService",
    "TaskController",
    "TaskDefinition",
    "TaskService",
    "TaskStatus",
    "Taskloom",
    "TaskloomError",
    "Unauthenticated",
    "Unreachable",
    "WaitForChildren",
    "WaitReason",
    "WaitTimeout",
    "current_run",
    "register",
    "registry",
    "task",
]

_SERVER_HOMES = {
    "Client": "taskloom.server.remote",
    "SyncClient": "taskloom.server.remote",
    "Unreachable": "taskloom.server.remote",
    "LogFilter": "taskloom.definitions.filters",
    "RunFilter": "taskloom.definitions.filters",
    "Settings": "taskloom.server.settings",
    "SyncTaskService": "taskloom.server.sync_service",
    "TaskService": "taskloom.server.service",
    "Taskloom": "taskloom.server.taskloom",
}


def __getattr__(name: str) -> Any:
    home = _SERVER_HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'taskloom' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
