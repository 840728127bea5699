"""Group commit: many write operations, one transaction.

A write operation is an object whose class knows how to apply a list of its
kind at once (`apply_many`), so a batch of 500 outcomes becomes a handful of
executemany statements. If anything in a batch fails, the batch is rolled
back and each operation is retried alone, so one bad operation only fails
its own caller. Each adapter's writer commits its queue this way.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection

from taskloom.server.store.committed import Committed

T = TypeVar("T")

Settled = tuple[bool, Any]  # (ok, result or exception)
# Guards each op's fate: taken by the writer, or abandoned by its caller.
_FATE = threading.Lock()
TAKEN, ABANDONED = "taken", "abandoned"


class WriteOp(Generic[T]):
    """One unit of work for the writer, in portable SQLAlchemy Core.
    Subclasses override `apply` or, to merge with others of their kind,
    `apply_many`."""

    # Someone waits on this write's commit (a caller's request, a worker's
    # claim or outcomes): an adapter with a shorter path to a commit takes
    # it for this write (server/store/sqlite/inline.py).
    urgent = False
    # Its caller waits at most the database's write timeout (database.py),
    # then gives up unless the write is being applied. The engine's outcomes
    # and claims wait on: their worker has nothing better to do.
    bounded = True
    _fate: str | None = None

    def take(self) -> bool:
        """The writer is about to apply it (the write lock held): False if
        its caller gave up first, and then it must not be applied."""
        with _FATE:
            if self._fate is None:
                self._fate = TAKEN
            return self._fate == TAKEN

    def abandon(self) -> bool:
        """Its caller gives up: False if the writer already took it (then
        its commit is near, and the caller waits for it)."""
        with _FATE:
            if self._fate is None:
                self._fate = ABANDONED
            return self._fate == ABANDONED

    def untake(self) -> None:
        """Nothing of it was written after all (the writer process failed
        it): its caller may give up again."""
        with _FATE:
            if self._fate == TAKEN:
                self._fate = None

    def apply(self, conn: Connection) -> T:
        raise NotImplementedError

    @classmethod
    def apply_many(cls, conn: Connection, ops: Sequence[Any]) -> list[Any]:
        return [op.apply(conn) for op in ops]

    def committed(self, result: T) -> Committed | None:
        """What this write, once committed with `result`, tells the rest of
        the process (store/committed.py); None: nothing."""
        return None


class FnOp(WriteOp[T]):
    """A plain function as a write operation (never merged)."""

    def __init__(self, fn: Callable[[Connection], T]) -> None:
        self.fn = fn

    def apply(self, conn: Connection) -> T:
        return self.fn(conn)


def apply_grouped(conn: Connection, ops: Sequence[WriteOp[Any]]) -> list[Any]:
    """Applies ops grouped by class, in order of first appearance; an op
    whose caller gave up is skipped (its result None)."""
    groups: dict[type, list[int]] = {}
    for index, op in enumerate(ops):
        if op.bounded and not op.take():
            continue
        groups.setdefault(type(op), []).append(index)
    results: list[Any] = [None] * len(ops)
    for kind, indexes in groups.items():
        values = kind.apply_many(conn, [ops[i] for i in indexes])  # type: ignore[attr-defined]
        for i, value in zip(indexes, values, strict=True):
            results[i] = value
    return results


def commit_together(
    transaction: Callable[[Callable[[Connection], Any]], Any],
    ops: Sequence[WriteOp[Any]],
) -> list[Settled]:
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
    settled: list[Settled] = []
    for op in ops:
        try:
            settled.append((True, transaction(_alone(op))))
        except Exception as exc:
            settled.append((False, exc))
    return settled


def _alone(op: WriteOp[Any]) -> Callable[[Connection], Any]:
    return lambda conn: apply_grouped(conn, [op])[0]


def settle(answers: Iterable[tuple[asyncio.Future[Any], Settled]]) -> None:
    """Hands each waiting caller its write's result or error (a caller that
    gave up, its future cancelled, is skipped)."""
    for future, (ok, value) in answers:
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
