"""`SyncTwin`: the synchronous face of a `RunsAPI` (`TaskService` or
`taskloom.Client`), for backends that are not async.

Each method has the async one's name, arguments, results and errors; it
runs on an event loop in a background thread (the twin's own, or that of a
running `Taskloom`), so it is safe to call from many threads at once. The
live streams (`watch`, `follow_logs`) become plain iterators.

This module imports no database and no HTTP: `SyncTaskService` and
`SyncClient` both build on it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Coroutine, Generator, Iterable
from types import TracebackType
from typing import Any, Self, TypeVar

from taskloom.definitions.run_view import RunView
from taskloom.definitions.service_api import RunsAPI
from taskloom.definitions.views import BulkResult, LogView, Page, ResultView

T = TypeVar("T")


def start_loop(name: str) -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
    """A new event loop running in a daemon thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name=name, daemon=True)
    thread.start()
    return loop, thread


def stop_loop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    """Closes the loop's unfinished async generators, then stops it."""
    asyncio.run_coroutine_threadsafe(loop.shutdown_asyncgens(), loop).result()
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.close()


class SyncTwin:
    def __init__(self, api: RunsAPI, loop: asyncio.AbstractEventLoop) -> None:
        """Wraps `api`, whose coroutines run on `loop` in another thread."""
        self.api = api
        self.loop = loop
        self._streams: set[AsyncGenerator[Any, None]] = set()

    def close(self) -> None:
        """Releases what the twin owns (nothing, unless a subclass says so)."""

    def _close_streams(self) -> None:
        """Closes the streams still being iterated, one by one, each on the
        loop (a subclass's `close` calls it before stopping its loop, so
        every subscription's connection ends cleanly)."""
        while self._streams:
            self._call(self._streams.pop().aclose())

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            coroutine.close()
            raise RuntimeError(f"{type(self).__name__} cannot be called from its own event loop")
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def _iterate(self, stream: AsyncGenerator[T, None]) -> Generator[T, None, None]:
        """The stream's items, each fetched on the loop; leaving the loop
        early closes the stream there (a closed twin closed it already)."""
        self._streams.add(stream)
        try:
            while True:
                try:
                    yield self._call(anext(stream))
                except StopAsyncIteration:
                    return
        finally:
            if stream in self._streams:
                self._streams.discard(stream)
                self._call(stream.aclose())

    # --- triggering -------------------------------------------------------------

    def trigger(self, definition: Any, input: Any = None, **options: Any) -> RunView:
        return self._call(self.api.trigger(definition, input, **options))

    def trigger_many(self, definition: Any, inputs: Iterable[Any], **options: Any) -> list[RunView]:
        return self._call(self.api.trigger_many(definition, list(inputs), **options))

    # --- control ------------------------------------------------------------------

    def abort(self, run_id: str, message: str | None = None, **options: Any) -> RunView:
        return self._call(self.api.abort(run_id, message, **options))

    def abort_many(self, where: Any = None, **options: Any) -> BulkResult:
        return self._call(self.api.abort_many(where, **options))

    def retry_many(self, where: Any = None, **options: Any) -> BulkResult:
        return self._call(self.api.retry_many(where, **options))

    def pause(self, run_id: str, **options: Any) -> RunView:
        return self._call(self.api.pause(run_id, **options))

    def resume(self, run_id: str, **options: Any) -> RunView:
        return self._call(self.api.resume(run_id, **options))

    def retry(self, run_id: str, **options: Any) -> RunView:
        return self._call(self.api.retry(run_id, **options))

    def set_priority(self, run_id: str, priority: int, **options: Any) -> RunView:
        return self._call(self.api.set_priority(run_id, priority, **options))

    # --- reading ------------------------------------------------------------------

    def find(self, run_id: str, **options: Any) -> RunView | None:
        return self._call(self.api.find(run_id, **options))

    def get(self, run_id: str, **options: Any) -> RunView:
        return self._call(self.api.get(run_id, **options))

    def list_runs(self, where: Any = None, **options: Any) -> Page[RunView]:
        return self._call(self.api.list_runs(where, **options))

    def count_runs(self, where: Any = None, **options: Any) -> int:
        return self._call(self.api.count_runs(where, **options))

    def logs(self, run_id: str | None = None, **options: Any) -> Page[LogView]:
        return self._call(self.api.logs(run_id, **options))

    def history(self, run_id: str, **options: Any) -> list[ResultView]:
        return self._call(self.api.history(run_id, **options))

    def dependencies(self, run_id: str, **options: Any) -> list[RunView]:
        return self._call(self.api.dependencies(run_id, **options))

    def wait(self, run_id: str, *args: Any, **options: Any) -> RunView:
        return self._call(self.api.wait(run_id, *args, **options))

    def watch(self, run_id: str) -> Generator[RunView, None, None]:
        """The run now and after each change, until it ends."""
        return self._iterate(self.api.watch(run_id))

    def follow_logs(self, run_id: str) -> Generator[LogView, None, None]:
        """Each new log line of the run, until it ends."""
        return self._iterate(self.api.follow_logs(run_id))
