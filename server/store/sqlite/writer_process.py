"""The worker's hot writes to a SQLite file, committed by a second process.

A drain keeps one core busy: the engine's work and SQLite's take turns on
the event loop's thread, about half each. A thread cannot take SQLite's
half: the driver gives up the GIL around every row and then waits up to the
interpreter's switch interval (5 ms) to get it back from a busy event loop.
A process can. While a worker runs, the SQLite store starts this one: it
holds its own connection to the file and commits the scripts it is sent
(scripts.py: claims, outcome batches, new runs), one
transaction each, in the order sent, while the event loop goes on with the
engine.

The child (writer_child.py) imports the standard library only and starts in
milliseconds. If it exits or fails, its callers' writes take this process's
own path; a script rolled back by its guard (a lost lease) does the same.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import pickle
import socket
import sys
from pathlib import Path
from subprocess import DEVNULL
from typing import Any

from taskloom.server.store.sqlite.scripts import Script

log = logging.getLogger("taskloom.store")

CHILD = str(Path(__file__).with_name("writer_child.py"))
HEADER_BYTES = 4
STOP_SECONDS = 10.0  # beyond SQLite's busy timeout


class ScriptFailed(Exception):
    """The writer process could not commit a script (nothing was written),
    or is gone (then whether the script was committed is unknown)."""


class WriterProcess:
    def __init__(self, path: str, pragmas: list[str]) -> None:
        self.path = path
        self.pragmas = pragmas
        self.loop: asyncio.AbstractEventLoop | None = None
        self.committed = 0  # scripts committed
        self._process: asyncio.subprocess.Process | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._waiting: collections.deque[asyncio.Future[tuple[Any, ...]]] = collections.deque()
        self._answered = asyncio.Event()  # set when nothing sent awaits its answer
        self._answered.set()

    @property
    def alive(self) -> bool:
        return self._writer is not None

    @property
    def busy(self) -> bool:
        """Whether anything sent awaits its answer."""
        return bool(self._waiting)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        ours, theirs = socket.socketpair()
        with theirs:
            args = [sys.executable, "-I", "-S", CHILD, str(theirs.fileno()), self.path]
            # A session of its own: Ctrl-C in a terminal reaches the process
            # group, and this process still has outcomes to send after it.
            self._process = await asyncio.create_subprocess_exec(
                *args,
                json.dumps(self.pragmas),
                pass_fds=[theirs.fileno()],
                stdin=DEVNULL,
                start_new_session=True,
            )
        reader, self._writer = await asyncio.open_unix_connection(sock=ours)
        self.loop = asyncio.get_running_loop()
        self._reader_task = self.loop.create_task(self._read(reader), name="taskloom-writer-read")

    async def run(self, script: Script) -> tuple[bool, list[Any]]:
        """(committed, each step's rows or row count); committed is False
        when the guard rolled the script back. Raises ScriptFailed."""
        answer = await self._ask(("script", script.steps, script.guarded, script.expect))
        if answer[0] == "error":
            raise ScriptFailed(f"{answer[1]}: {answer[2]}")
        committed = answer[0] == "ok"
        self.committed += committed
        return committed, answer[1]

    async def _ask(self, request: tuple[Any, ...]) -> tuple[Any, ...]:
        writer = self._writer
        if writer is None:
            raise ScriptFailed("the SQLite writer process is not running")
        assert self.loop is not None
        data = pickle.dumps(request, pickle.HIGHEST_PROTOCOL)
        future: asyncio.Future[tuple[Any, ...]] = self.loop.create_future()
        self._waiting.append(future)
        self._answered.clear()
        writer.write(len(data).to_bytes(HEADER_BYTES, "little") + data)
        return await future

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                size = int.from_bytes(await reader.readexactly(HEADER_BYTES), "little")
                answer = pickle.loads(await reader.readexactly(size))
                future = self._waiting.popleft()
                if not self._waiting:
                    self._answered.set()
                if not future.done():  # (not cancelled)
                    future.set_result(answer)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            if self._writer is not None:  # not closed by us
                log.error("the SQLite writer process exited: %s; writing in process", exc)
        finally:
            self._gone()

    def _gone(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(ScriptFailed("the SQLite writer process exited"))
        self._answered.set()

    async def close(self) -> None:
        """Ends the process once it has answered what was sent (even to a
        caller that was cancelled: the script is committed all the same)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._answered.wait(), STOP_SECONDS)
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()  # the child reads the end of its input and exits
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task
        process = self._process
        if process is not None:
            try:
                await asyncio.wait_for(process.wait(), STOP_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()

    def kill(self) -> None:
        """Ends the process at once (SIGKILL): close() did not end in time.
        Its reader then sees the socket close and fails what still waits."""
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
