"""Records of Python's standard `logging`, emitted while an iteration runs,
land in that run's logs.

One handler on the root logger finds the iteration through the context
variable behind `definitions.current_run()`, so it works on the event loop
and in the worker threads that run plain `def` tasks. A record still has to
pass its own logger's level first (the root logger's default is WARNING).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from taskloom.definitions.controller import _current
from taskloom.definitions.records import LogLevel
from taskloom.server.engine import tracebacks

_install_lock = threading.Lock()
_installed: list[logging.Handler] = []


def level_of(definition: Any) -> int | None:
    """The capture level of a definition: its `log_capture_level` name (an
    unknown name falls back to WARNING rather than failing the iteration)."""
    name = getattr(definition, "log_capture_level", "WARNING")
    if name is None:
        return None
    level = logging.getLevelName(str(name).upper())
    return level if isinstance(level, int) else logging.WARNING


def as_run_level(levelno: int) -> LogLevel:
    if levelno >= logging.ERROR:
        return LogLevel.ERROR
    if levelno >= logging.WARNING:
        return LogLevel.WARNING
    if levelno >= logging.INFO:
        return LogLevel.INFO
    return LogLevel.DEBUG


class RunLogHandler(logging.Handler):
    """Copies records into the current run's log buffer."""

    def emit(self, record: logging.LogRecord) -> None:
        controller = _current.get()
        if controller is None or controller.capture_level is None:
            return
        if record.levelno < controller.capture_level or record.name.startswith("taskloom"):
            return
        try:
            data: dict[str, Any] = {"logger": record.name}
            exc = record.exc_info[1] if record.exc_info else None
            if exc is not None:
                data["exception"] = tracebacks.whole(exc)
                module = controller.task_module
                source = None if module is None else tracebacks.module_file(module)
                data["task_exception"] = tracebacks.task_only(exc, source)
            controller.log.log(as_run_level(record.levelno), record.getMessage(), data)
        except Exception:
            self.handleError(record)


def install() -> None:
    """Adds the handler to the root logger once per process."""
    with _install_lock:
        if not _installed:
            handler = RunLogHandler(logging.DEBUG)
            logging.getLogger().addHandler(handler)
            _installed.append(handler)
