"""`controller.log`: a run's log lines, kept until the iteration is saved."""

from __future__ import annotations

import time
from typing import Any

from taskloom.definitions.records import LogEntry, LogLevel
from taskloom.definitions.text_limits import LOG_MESSAGE_CHARS, clip


class RunLogger:
    def __init__(self) -> None:
        self._entries: list[LogEntry] = []

    def log(self, level: LogLevel, message: str, data: Any = None) -> None:
        self._entries.append(
            LogEntry(level, clip(str(message), LOG_MESSAGE_CHARS), data, time.time())
        )

    def debug(self, message: str, data: Any = None) -> None:
        self.log(LogLevel.DEBUG, message, data)

    def info(self, message: str, data: Any = None) -> None:
        self.log(LogLevel.INFO, message, data)

    def warning(self, message: str, data: Any = None) -> None:
        self.log(LogLevel.WARNING, message, data)

    def error(self, message: str, data: Any = None) -> None:
        self.log(LogLevel.ERROR, message, data)

    def drain(self) -> list[LogEntry]:
        """Hands the buffered lines to the engine and forgets them."""
        entries, self._entries = self._entries, []
        return entries
