"""Everything that runs: settings, store, engine, service, app, CLI.

`from server import Taskloom` works as ever; the names are imported on
first use, so that the command line can start without loading the server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.service import TaskService
    from server.settings import Settings
    from server.taskloom import Taskloom

__all__ = ["Settings", "TaskService", "Taskloom"]

_HOMES = {
    "Settings": "server.settings",
    "TaskService": "server.service",
    "Taskloom": "server.taskloom",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'server' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
