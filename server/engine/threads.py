"""The threads synchronous task code runs on.

Python cannot stop a thread: a synchronous `run()` that outlives its
iteration's timeout keeps running on its thread until it returns, whatever
the engine decided about the iteration (a TIMEOUT error). In a plain thread
pool a few such calls would take every thread, and the next synchronous
iterations would wait behind them forever. Here the pool lends a thread for
as long as an abandoned call still runs, so only the hung calls are stuck.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

log = logging.getLogger("taskloom.worker")


class TaskThreads(ThreadPoolExecutor):
    def __init__(self, max_workers: int, thread_name_prefix: str = "taskloom-task") -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self.lent = 0  # threads lent now, one per abandoned call still running

    def lend(self, call: Future[Any]) -> None:
        """`call` was given up on while it runs: one more thread may start
        until it returns."""
        with self._shutdown_lock:
            if call.done() or self._shutdown:
                return
            self._max_workers += 1
            self.lent += 1
            # Start the extra thread now if work is waiting for one.
            if not self._work_queue.empty():
                self._adjust_thread_count()
        call.add_done_callback(self._returned)

    def _returned(self, call: Future[Any]) -> None:
        with self._shutdown_lock:
            self._max_workers -= 1
            self.lent -= 1
        log.info("an abandoned synchronous run() returned; its thread is back in the pool")
