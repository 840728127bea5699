"""Process logging: plain text by default, one JSON object per line with
`TASKLOOM_LOG_FORMAT=json`. Engine lines carry the run id and definition of
the run they are about: the worker binds them to the task that executes an
iteration (`bind_run`), and every record logged inside it picks them up."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

_run: ContextVar[tuple[str, str] | None] = ContextVar("taskloom_log_run", default=None)

RUN_FIELDS = ("run_id", "definition")
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


def bind_run(run_id: str, definition: str) -> None:
    """Marks the current task (and what it starts) as working on this run."""
    _run.set((run_id, definition))


class RunContextFilter(logging.Filter):
    """Adds `run_id` and `definition` to records logged while a run is bound."""

    def filter(self, record: logging.LogRecord) -> bool:
        bound = _run.get()
        if bound is not None:
            if not hasattr(record, "run_id"):
                record.run_id = bound[0]
            if not hasattr(record, "definition"):
                record.definition = bound[1]
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = [f"{k}={getattr(record, k)}" for k in RUN_FIELDS if hasattr(record, k)]
        return f"{text} [{' '.join(fields)}]" if fields else text


def configure_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    """Sends every logger (uvicorn's included) to stderr in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RunContextFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
