"""Tracebacks of task code's exceptions, as an ERROR log line's data keeps
them: whole for admins, and for everyone else only the frames of the task's
own module, its file named relative to that module's folder (the service
picks one per reader, service/log_views.py). The whole one names the
server's files and the interpreter's; the short one names none."""

from __future__ import annotations

import os
import sys
import traceback
from functools import cache

# In a log line's data: the whole text, and beside it the task's frames.
WHOLE_AND_TASK_ONLY = (("traceback", "task_traceback"), ("exception", "task_exception"))


@cache
def module_file(name: str) -> str | None:
    """The real path of the module `name` (None: none)."""
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None)
    return os.path.realpath(path) if path else None


def whole(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def task_only(exc: BaseException, source: str | None) -> str:
    """The frames of `exc` in the file `source`, named by its base name, and
    the exception's last line; no frame when `source` is unknown."""
    frames = [
        traceback.FrameSummary(
            os.path.basename(frame.filename), frame.lineno, frame.name, line=frame.line
        )
        for frame in traceback.extract_tb(exc.__traceback__)
        if source is not None and _real(frame.filename) == source
    ]
    shown = [
        "Traceback (most recent call last):\n",
        *traceback.StackSummary.from_list(frames).format(),
    ]
    return "".join([*(shown if frames else []), *traceback.format_exception_only(type(exc), exc)])


@cache
def _real(path: str) -> str:
    return os.path.realpath(path)
