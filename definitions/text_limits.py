"""The sizes of the text a run keeps, in characters (README, "Security",
Limits). Text a caller chose (a trigger's name, an abort message, a log
line from backend code) over its size is refused with a field error; text
task code wrote (its log lines, status, child names, error and abort
messages, codes, units) is cut to the size, ending with a marker that says
how long it was."""

from __future__ import annotations

NAME_CHARS = 500  # a run's name
STATUS_MESSAGE_CHARS = 500  # controller.status(), done(message=...)
MESSAGE_CHARS = 4000  # an abort message; a run's error message
LOG_MESSAGE_CHARS = 16_000  # one log line
CODE_CHARS = 100  # an error code
UNITS_CHARS = 100  # progress units


def clip(text: str, limit: int) -> str:
    """`text`, or its first characters and a marker, `limit` in all."""
    if len(text) <= limit:
        return text
    marker = f"… [cut from {len(text)} characters]"
    return text[: max(0, limit - len(marker))] + marker


def clip_optional(text: str | None, limit: int) -> str | None:
    return None if text is None else clip(text, limit)
