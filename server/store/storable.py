"""Text the databases can store.

A lone UTF-16 surrogate (half of a pair, U+D800-U+DFFF on its own: common in
file names read from disk, where Python keeps undecodable bytes that way)
cannot be encoded as UTF-8, so neither SQLite nor PostgreSQL takes a string
holding one, and PostgreSQL's JSON refuses its `\\udXXX` escape. Text on its
way to the database is made storable here: each lone surrogate becomes
U+FFFD, the replacement character (a well-formed pair is joined into its
character). The callers say in the log that they replaced something.

`cannot_store` tells an error about the data written (which no retry will
cure) from one about the database (locked, unreachable).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DataError, IntegrityError, StatementError


def storable_text(text: str) -> str:
    """`text`, each lone surrogate replaced by U+FFFD."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def storable(value: Any) -> Any:
    """A JSON value with `storable_text` applied to every string in it, keys
    too; the same object when nothing needed replacing."""
    if type(value) is str:
        return storable_text(value)
    if isinstance(value, dict):
        items = [(storable(k), storable(v)) for k, v in value.items()]
        changed = any(
            k is not k0 or v is not v0
            for (k, v), (k0, v0) in zip(items, value.items(), strict=True)
        )
        return dict(items) if changed else value
    if isinstance(value, list | tuple):
        values = [storable(item) for item in value]
        if any(new is not old for new, old in zip(values, value, strict=True)):
            return values
        return value
    return value


def cannot_store(exc: BaseException) -> bool:
    """Whether `exc`, raised by a write, says its data cannot be stored
    (text the encoding cannot hold, a value of the wrong type, a constraint)
    rather than that the database could not be reached or was busy. The
    drivers' own errors are found along the chain of causes by class name,
    since only the adapters import the drivers."""
    cause: BaseException | None = exc
    for _depth in range(8):
        if cause is None:
            return False
        if isinstance(cause, DataError | IntegrityError | ValueError | TypeError | OverflowError):
            return True  # (UnicodeEncodeError is a ValueError)
        if type(cause).__name__ in {"DataError", "IntegrityError"}:
            return True
        orig = cause.orig if isinstance(cause, StatementError) else None
        cause = orig if orig is not None else cause.__cause__
    return False
