"""Group commit: many write operations, one transaction.

A write operation is an object whose class knows how to apply a list of its
kind at once (`apply_many`), so a batch of 500 outcomes becomes a handful of
executemany statements. If anything in a batch fails, the batch is rolled
back and each operation is retried alone, so one bad operation only fails
its own caller.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect

from taskloom.server.store.scripts import Script

T = TypeVar("T")


class WriteOp(Generic[T]):
    """One unit of work for the writer. Subclasses override `apply` or, to
    merge with others of their kind, `apply_many`."""

    def apply(self, conn: Connection) -> T:
        raise NotImplementedError

    @classmethod
    def apply_many(cls, conn: Connection, ops: Sequence[Any]) -> list[Any]:
        return [op.apply(conn) for op in ops]

    def script(self, dialect: Dialect) -> Script | None:
        """This write's SQL made up front (server/store/scripts.py), which
        the SQLite writer process can commit; None (the default) when the
        write needs this process's connection."""
        return None

    def from_script(self, results: list[Any]) -> T:
        """What `apply` would return, from the committed script's results."""
        raise NotImplementedError


class FnOp(WriteOp[T]):
    """A plain function as a write operation (never merged)."""

    def __init__(self, fn: Callable[[Connection], T]) -> None:
        self.fn = fn

    def apply(self, conn: Connection) -> T:
        return self.fn(conn)


Outcome = tuple[bool, Any]  # (ok, result or exception)


def apply_grouped(conn: Connection, ops: Sequence[WriteOp[Any]]) -> list[Any]:
    """Applies ops grouped by class, in order of first appearance."""
    groups: dict[type, list[int]] = {}
    for index, op in enumerate(ops):
        groups.setdefault(type(op), []).append(index)
    results: list[Any] = [None] * len(ops)
    for kind, indexes in groups.items():
        values = kind.apply_many(conn, [ops[i] for i in indexes])  # type: ignore[attr-defined]
        for i, value in zip(indexes, values, strict=True):
            results[i] = value
    return results


def run_batch(
    transaction: Callable[[Callable[[Connection], Any]], Any],
    ops: Sequence[WriteOp[Any]],
) -> list[Outcome]:
    """Runs ops in one transaction; on failure, each op alone.

    `transaction(fn)` runs `fn(conn)` inside a committed transaction and
    returns its result, raising (after rollback) if `fn` raises.
    """
    try:
        values = transaction(lambda conn: apply_grouped(conn, ops))
        return [(True, value) for value in values]
    except Exception as exc:
        if len(ops) == 1:
            return [(False, exc)]
    outcomes: list[Outcome] = []
    for op in ops:
        try:
            outcomes.append((True, transaction(_alone(op))))
        except Exception as exc:
            outcomes.append((False, exc))
    return outcomes


def _alone(op: WriteOp[Any]) -> Callable[[Connection], Any]:
    return lambda conn: apply_grouped(conn, [op])[0]
