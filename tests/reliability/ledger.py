"""The soak's ledger: every iteration appends what it did to one file,
fsync'ed line by line, from whichever process runs it, so a kill -9 loses
nothing already written. What the ledger holds is compared with the
database (reliability/report.py)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV = "TASKLOOM_RELIABILITY_LEDGER"


def append(event: str, run_id: str, iteration: int, **extra: Any) -> None:
    """One line: `event` ("start" or "end") of an iteration, by this process."""
    path = os.environ.get(ENV)
    if not path:
        return
    line = {"event": event, "run": run_id, "iteration": iteration, "pid": os.getpid()}
    line |= {"t": time.time(), **extra}
    data = (json.dumps(line) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)  # one write under O_APPEND: lines never interleave
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Entry:
    event: str
    run: str
    iteration: int
    pid: int
    t: float


def read(path: Path) -> list[Entry]:
    if not path.exists():
        return []
    entries = []
    for line in path.read_text().splitlines():
        try:
            data = json.loads(line)
        except ValueError:  # a line cut by a kill -9 mid-write (cannot happen with O_APPEND)
            continue
        entries.append(Entry(data["event"], data["run"], data["iteration"], data["pid"], data["t"]))
    return entries
