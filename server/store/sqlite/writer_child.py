"""The SQLite writer process: commits the scripts its parent sends, in order.

Run by writer_process.py as `python -I -S writer_child.py FD
PATH PRAGMAS`, so it starts in milliseconds: the standard library only,
nothing of this package (its SQL is made by the parent). It reads requests
from the socket FD, each a 4-byte length and a pickle, and answers each in
turn:

* `("script", steps, guarded, expect)`: one `BEGIN IMMEDIATE` transaction.
  A step is `(sql, values, kind, condition)`; kind "rows" returns the rows
  of an execute, "many" the row count of an executemany. A condition `(i,
  j, same)` runs the step only if the rows of steps i and j are equal
  (`same`) or differ. If the first `guarded` steps changed other than
  `expect` rows in all, the transaction is rolled back. Answer: `("ok",
  results)`, `("guard", results)` or `("error", type name, message)`, after
  a rollback.

It ends when the socket closes (its parent exited or closed it). It runs in
a session of its own, out of reach of a terminal's Ctrl-C, and ignores
SIGINT and SIGTERM (a service manager may send them to every process of
the service): its parent still has outcomes to send before it closes the
socket.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import signal
import socket
import sqlite3
import struct
import sys
from typing import Any

HEADER = struct.Struct("<I")


def _run_script(conn: sqlite3.Connection, request: tuple[Any, ...]) -> tuple[Any, ...]:
    _kind, steps, guarded, expect = request
    results: list[Any] = []
    changed = 0
    try:
        conn.execute("BEGIN IMMEDIATE")
        for index, (sql, values, kind, condition) in enumerate(steps):
            if condition is not None:
                first, second, same = condition
                if (results[first] == results[second]) != same:
                    results.append(None)
                    continue
            if kind == "rows":
                results.append(conn.execute(sql, values).fetchall())
            else:
                run = conn.execute if len(values) == 1 else conn.executemany
                count = run(sql, values[0] if len(values) == 1 else values).rowcount
                results.append(count)
                if index < guarded:
                    changed += count
        if guarded and changed != expect:
            conn.execute("ROLLBACK")
            return ("guard", results)
        conn.execute("COMMIT")
    except Exception as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        return ("error", type(exc).__name__, str(exc))
    return ("ok", results)


def serve(sock: socket.socket, path: str, pragmas: list[str]) -> None:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in pragmas:
        conn.execute(f"PRAGMA {pragma}")
    stream = sock.makefile("rb")
    try:
        while True:
            header = stream.read(HEADER.size)
            if len(header) < HEADER.size:
                return
            (size,) = HEADER.unpack(header)
            answer = _run_script(conn, pickle.loads(stream.read(size)))
            data = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
            sock.sendall(HEADER.pack(len(data)) + data)
    finally:
        conn.close()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the parent is gone
        serve(socket.socket(fileno=int(sys.argv[1])), sys.argv[2], json.loads(sys.argv[3]))
