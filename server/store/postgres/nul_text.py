"""PostgreSQL's text types cannot hold the NUL character (U+0000), and the
driver refuses a whole statement with one such parameter. One exception
message or log line with a NUL would fail its iteration's outcome, which
could never be saved. So every string parameter sent to PostgreSQL has its
NULs replaced by U+FFFD, the replacement character. JSON values are
unaffected: they are sent serialised, with NUL escaped as `\\u0000`, which
the `json` type accepts."""

from __future__ import annotations

from typing import Any

NUL = "\x00"
REPLACEMENT = "\ufffd"


def replace_nul(
    conn: Any,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    executemany: bool,
) -> tuple[str, Any]:
    """A `before_cursor_execute` listener (registered with `retval=True`)."""
    if _has_nul(parameters):
        parameters = _replaced(parameters)
    return statement, parameters


def _has_nul(value: Any) -> bool:
    if type(value) is str:
        return NUL in value
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_has_nul(item) for item in value.values())
    return False


def _replaced(value: Any) -> Any:
    if type(value) is str:
        return value.replace(NUL, REPLACEMENT)
    if isinstance(value, list | tuple):
        return type(value)(_replaced(item) for item in value)
    if isinstance(value, dict):
        return {key: _replaced(item) for key, item in value.items()}
    return value
