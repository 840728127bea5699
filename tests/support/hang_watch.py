"""A hung test fails with a diagnostic, and the run goes on, or ends: it
never hangs for good.

pytest-timeout (signal method) arms one alarm per test and cancels it from
`pytest_exception_interact`, a hook meant for entering pdb that pytest in
fact calls for every failed phase. So once a test failed (its timeout
included), its teardown runs with no timer: a fixture that stops a
Taskloom, or the loop's close (which cancels the tasks left and waits for
each to end), awaiting the same stuck thing, hangs the run for good. And
`pytest.fail` raised from the alarm inside one of the loop's callbacks is
logged and dropped by asyncio (a task's step keeps it as that task's
exception), and the loop waits on.

This plugin takes pytest-timeout's timer over (its `set_timer` and
`cancel_timer` hooks), keeps it until the test's protocol (setup, call,
teardown) is over, and strikes up to three times:

1. at the timeout: the stacks of every thread and of every asyncio task of
   the running loop are written out, and the test fails (`pytest.fail`);
2. STRIKE_SECONDS later, if the test is still not over: the same;
3. STRIKE_SECONDS after that, from a thread of its own (it needs
   nothing of the stuck main thread): the tasks' stacks, then
   pytest-timeout's own dump of the output and threads, and the process
   exits with status 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest
import pytest_timeout  # type: ignore[import-untyped]

WATCH = pytest.StashKey["HangWatch"]()
# The time between two strikes (an environment variable for the test of
# this plugin, tests/integration/test_hang_watch.py).
STRIKE_SECONDS = float(os.environ.get("HANG_WATCH_STRIKE_SECONDS", "30"))


class HangWatch:
    def __init__(self, item: pytest.Item, settings: Any) -> None:
        self.item = item
        self.settings = settings
        self.strikes = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        last = settings.timeout + 2 * STRIKE_SECONDS
        self.last_strike = threading.Timer(last, self._last_strike)
        self.last_strike.daemon = True

    def arm(self) -> None:
        signal.signal(signal.SIGALRM, self._strike)
        signal.setitimer(signal.ITIMER_REAL, self.settings.timeout)
        self.last_strike.start()

    def cancel(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        self.last_strike.cancel()

    def _strike(self, _signum: int, _frame: FrameType | None) -> None:
        __tracebackhide__ = True
        self.strikes += 1
        with contextlib.suppress(RuntimeError):  # not in the loop now: the last one seen
            self.loop = asyncio.get_running_loop()
        if self.strikes == 1:
            signal.setitimer(signal.ITIMER_REAL, STRIKE_SECONDS)
        terminal = self.item.config.get_terminal_writer()
        terminal.sep("+", title=f"Timeout, strike {self.strikes}: asyncio tasks")
        terminal.write(self._task_stacks())
        pytest_timeout.timeout_sigalrm(self.item, self.settings)

    def _last_strike(self) -> None:
        terminal = self.item.config.get_terminal_writer()
        terminal.sep("+", title="Timeout, last strike: asyncio tasks; the run ends")
        terminal.write(self._task_stacks())
        pytest_timeout.timeout_timer(self.item, self.settings)  # exits

    def _task_stacks(self) -> str:
        if self.loop is None:
            return "(no asyncio loop was running)\n"
        out = io.StringIO()
        for task in asyncio.all_tasks(self.loop):
            task.print_stack(file=out)
        return out.getvalue()


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    """Takes the signal method over; the thread method (which ends the
    process at the timeout) stays pytest-timeout's."""
    if settings.method != "signal" or threading.current_thread() is not threading.main_thread():
        return None
    watch = HangWatch(item, settings)
    item.stash[WATCH] = watch
    watch.arm()
    return True


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_cancel_timer(item: pytest.Item) -> bool | None:
    """A watch is cancelled when the test's protocol is over (below), or
    when pdb starts; not when a phase failed."""
    watch = item.stash.get(WATCH, None)
    if watch is None:
        return None
    if item.config.getoption("usepdb"):
        watch.cancel()
    return True


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    yield
    watch = item.stash.get(WATCH, None)
    if watch is not None:
        watch.cancel()
        del item.stash[WATCH]
