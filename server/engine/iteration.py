"""One iteration of one run: build the controller, call `run()` within its
time budget, decide what the answer means, run the hook, and hand back the
outcome to be written. Timeouts and task exceptions are handled here only;
the rows the iteration leaves behind are built in `outcome_rows`, its hooks
called in `transition_hooks`."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from contextvars import copy_context
from functools import partial
from typing import Any

from sqlalchemy.engine import RowMapping

from taskloom.definitions.controller import TaskController
from taskloom.definitions.definition import TaskDefinition
from taskloom.definitions.errors import TaskloomError
from taskloom.definitions.records import RunError
from taskloom.definitions.registry import Registry
from taskloom.definitions.responses import Aborted, Continue, Done, Error, Response, as_response
from taskloom.definitions.runtime import Clock, Runtime
from taskloom.definitions.text_limits import STATUS_MESSAGE_CHARS, clip
from taskloom.server.engine import capture, hooks
from taskloom.server.engine.deadlines import Deadlines
from taskloom.server.engine.lifecycle import PAUSED, PENDING, SUCCEEDED, RunPosition, decide
from taskloom.server.engine.outcome_rows import (
    ChildFinisher,
    build_outcome,
    child_rows,
    drain_logs,
    error_row,
    not_json,
    retry_row,
)
from taskloom.server.engine.threads import TaskThreads
from taskloom.server.engine.transition_hooks import REFUSED, call_hook, next_input
from taskloom.server.store.iteration_outcome import IterationOutcome
from taskloom.server.store.run_requests import ABORT_REQUEST, PAUSE_REQUEST
from taskloom.server.store.waits import EXPIRED_MESSAGE, deadline_message, deadline_of

SUCCESSFUL = frozenset({PENDING, PAUSED, SUCCEEDED})
log = logging.getLogger("taskloom.worker")

HOOKS = ("on_done", "on_abort", "on_error", "on_max_iterations", "on_retry")
ChildPreparer = Callable[[Any, Any], tuple[str, dict[str, Any]]]
ChildLister = Callable[[str], Awaitable[list[Any]]]


class _Traits:
    """What the runner asks of a definition class on every iteration."""

    def __init__(self, definition: type[TaskDefinition[Any]]) -> None:
        self.definition = definition
        self.timeout = float(definition.iteration_timeout)
        self.is_async = definition.is_async()
        self.capture_level = capture.level_of(definition)
        # Validating an empty input into such a model cannot fail.
        self.plain_input = definition.empty_input() is not None
        instance = definition()
        self.hooks = frozenset(name for name in HOOKS if hooks.overrides(instance, name))


class IterationRunner:
    def __init__(
        self,
        registry: Registry,
        executor: Executor,
        *,
        validate_child: ChildPreparer,
        finish_child: ChildFinisher,
        list_children: ChildLister,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
    ) -> None:
        self.registry = registry
        self.executor = executor
        self.validate_child = validate_child
        self.finish_child = finish_child
        self.list_children = list_children
        self.clock = clock
        self.wall_clock = wall_clock
        # Controllers of the iterations running now, by run id: the worker
        # flushes their progress and status during long iterations.
        self.live: dict[str, TaskController[Any]] = {}
        # Runs whose synchronous run() goes on past its iteration (a timeout,
        # or a stopping worker): their threads cannot be stopped.
        self.lingering: set[str] = set()
        self.deadlines = Deadlines()
        # The loop the worker runs the iterations on, set by the worker as it
        # starts: on Python 3.11 every get_running_loop() (and current_task()
        # without a loop) asks the kernel for the pid.
        self.loop: asyncio.AbstractEventLoop | None = None
        self._traits: dict[type[TaskDefinition[Any]], _Traits] = {}
        capture.install()

    def _traits_of(self, row: RowMapping) -> _Traits | None:
        """The traits of the run's definition; None if it is not registered."""
        definition = self.registry.find(row["definition_id"])
        if definition is None:
            return None
        traits = self._traits.get(definition)
        if traits is None:
            traits = self._traits[definition] = _Traits(definition)
        return traits

    def runtime_for(self, row: RowMapping) -> Runtime:
        traits = self._traits_of(row)
        requested = row["requested"]
        return Runtime(
            traits.timeout if traits else 300.0,
            clock=self.clock,
            simulate=bool(row["simulate"]),
            aborted=requested == ABORT_REQUEST,
            pause_requested=requested == PAUSE_REQUEST,
        )

    async def run(self, row: RowMapping, worker_id: str, runtime: Runtime) -> IterationOutcome:
        traits = self._traits_of(row)
        controller: TaskController[Any] | None = None
        instance: TaskDefinition[Any] | None = None
        ending = _ending(row, self.wall_clock())
        if ending is not None:  # expired, or past its deadline: not run again
            response: Response = Error(ending.message, ending.code)
        elif traits is None:
            response = Error(f"unknown definition {row['definition_id']!r}", "UNKNOWN_DEFINITION")
        else:
            instance = traits.definition()
            try:
                controller = self._controller(traits, row, runtime)
            except TaskloomError as exc:
                response = Error(exc.message, "INVALID_INPUT", exc.details)
            else:
                controller.capture_level = traits.capture_level
                controller.task_module = traits.definition.__module__
                run_id = row["id"]
                self.live[run_id] = controller
                try:
                    response = await self._call(instance, controller, traits, row)
                finally:
                    self.live.pop(run_id, None)
        return await self._conclude(
            row, worker_id, runtime, traits, instance, controller, response, ending
        )

    async def _conclude(
        self,
        row: RowMapping,
        worker_id: str,
        runtime: Runtime,
        traits: _Traits | None,
        instance: TaskDefinition[Any] | None,
        controller: TaskController[Any] | None,
        response: Response,
        ending: RunError | None,
    ) -> IterationOutcome:
        """What the iteration's answer leads to, with its hooks, logs and
        children, as the outcome to save; `ending`: why run() was not
        called (see `_ending`)."""
        definition = traits.definition if traits else None
        position = RunPosition(
            iterations=row["iterations"],
            attempt=row["attempt"],
            state=row["state"] or {},
            max_iterations=definition.max_iterations if definition else 1,
            retry=definition.retry if definition else TaskDefinition.retry,
            abort_requested=runtime.is_aborted(),
            pause_requested=runtime.is_pause_requested(),
            ran=ending is None,
        )
        now = self.wall_clock()
        # Expiry is about starting: an iteration that ran ends the run
        # early only past its deadline.
        position.ending = ending or _past_deadline(row, now)
        transition = decide(position, response, now, random.random())
        problem = not_json(transition)
        if problem is not None:
            # What cannot be stored fails the iteration, instead of failing
            # the write and leaving the run RUNNING.
            if controller is not None:
                controller.log.error(problem)
            transition = decide(position, Error(problem, "NOT_JSON"), now)
        log_rows = drain_logs(row, controller)
        children: list[dict[str, Any]] = []
        # Only an iteration that succeeded (done or continue_) writes its
        # children: a failed one, retried or not, must not leave any behind.
        succeeded = transition.error is None and transition.status in SUCCESSFUL
        if succeeded and controller is not None and controller.children_requested:
            try:
                children = await child_rows(row, controller, now, self.finish_child, self.registry)
            except Exception as exc:
                # A child refused by its definition's validate_input or
                # on_before_trigger fails the iteration like an exception.
                message, data = hooks.describe(exc, definition)
                refused = f"a child run was refused: {message}"
                log_rows.append(error_row(row, refused, data, self.wall_clock()))
                text = exc.message if isinstance(exc, TaskloomError) else str(exc)
                failed = Error(text or type(exc).__name__, type(exc).__name__, exception=type(exc))
                transition = decide(position, failed, now, random.random())
        overridden = traits.hooks if traits else frozenset()
        new_input = None
        if transition.new_attempt and instance is not None and "on_retry" in overridden:
            chosen = await next_input(
                instance, row, transition, log_rows, self.executor, self.wall_clock
            )
            if chosen == REFUSED and transition.error is not None:
                last = transition.error
                final = Error(last.message, last.code, last.data, retry=False)
                transition = decide(position, final, now)
            elif isinstance(chosen, dict):
                new_input = chosen
        if transition.new_attempt:
            log_rows.append(retry_row(row, transition, position.retry, now))
        if instance is not None and transition.hook in overridden:
            await call_hook(instance, transition, row, log_rows, self.executor, self.wall_clock)
        outcome = build_outcome(
            row, worker_id, transition, controller, log_rows, children, now, definition
        )
        outcome.new_input = new_input
        if isinstance(response, Done) and response.message and transition.status == SUCCEEDED:
            # done(message=...): the last word
            outcome.status_message = clip(response.message, STATUS_MESSAGE_CHARS)
        return outcome

    def _controller(
        self, traits: _Traits, row: RowMapping, runtime: Runtime
    ) -> TaskController[Any]:
        run_id = row["id"]
        raw = row["input"]
        definition = traits.definition

        async def list_children() -> list[Any]:
            return await self.list_children(run_id)

        return TaskController(
            input=partial(definition.parse_input, raw)
            if traits.plain_input and (raw is None or raw == {})
            else definition.parse_input(raw),
            state=dict(row["state"] or {}),
            run=lambda: hooks.run_info(row, attempt=row["attempt"], state=row["state"] or {}),
            runtime=runtime,
            validate_child=self.validate_child,
            list_children=list_children,
        )

    async def _call(
        self,
        instance: TaskDefinition[Any],
        controller: TaskController[Any],
        traits: _Traits,
        row: RowMapping,
    ) -> Response:
        if controller.runtime.is_aborted():
            return Aborted("aborted on request")
        timeout = traits.timeout
        # The run's deadline cuts the iteration short when it comes first.
        deadline = deadline_of(row)
        left = timeout if deadline is None else min(timeout, deadline - self.wall_clock())
        task = self._current_task()
        watch = self.deadlines.watch(task, task.get_loop().time() + left)
        try:
            if traits.is_async and "cancel" in (instance.abort_mode, instance.pause_mode):
                response = await self._call_cancellable(instance, controller)
            elif traits.is_async:
                token = controller.activate()
                try:
                    response = as_response(await instance.run(controller))
                finally:
                    controller.deactivate(token)
            else:
                response = as_response(await self._call_sync(instance, controller))
        except asyncio.CancelledError as exc:
            if watch.expired and task.uncancel() == 0:
                if left < timeout:
                    message = deadline_message(row)
                    controller.log.error(message)
                    return Error(message, "DEADLINE")
                message = f"the iteration exceeded its {timeout:g} s timeout"
                controller.log.error(message)
                return Error(message, "TIMEOUT", exception=TimeoutError)
            if task.cancelling():
                raise  # the worker cancelled it (shutdown): not the task's answer
            # Task code let a CancelledError of its own escape: an error like
            # any other, not a reason to leave the run RUNNING.
            message, data = hooks.describe(exc, traits.definition)
            controller.log.error(message, data)
            return Error(
                str(exc) or "the iteration was cancelled", "CancelledError", exception=type(exc)
            )
        except (SystemExit, _Exited) as exc:
            # sys.exit() in task code ends this iteration, not the process.
            code = exc.code if isinstance(exc, SystemExit) else exc.args[0]
            message, data = hooks.describe(exc, traits.definition)
            controller.log.error(message, data)
            return Error(f"the task called sys.exit({code!r})", "SystemExit", exception=SystemExit)
        except Exception as exc:
            message, data = hooks.describe(exc, traits.definition)
            controller.log.error(message, data)
            return Error(str(exc) or type(exc).__name__, type(exc).__name__, exception=type(exc))
        finally:
            self.deadlines.done(watch)
        if watch.expired:
            task.uncancel()  # the iteration swallowed its timeout and answered
        return response

    def _current_task(self) -> asyncio.Task[Any]:
        task = asyncio.current_task(self.loop)
        assert task is not None
        return task

    async def _call_sync(
        self, instance: TaskDefinition[Any], controller: TaskController[Any]
    ) -> Any:
        context = copy_context()
        context.run(controller.activate)
        call = self.executor.submit(context.run, instance.run, controller)
        try:
            return await asyncio.wrap_future(call)
        except asyncio.CancelledError:
            # A timeout or shutdown: the thread runs on until run() returns.
            if not call.done() and isinstance(self.executor, TaskThreads):
                log.warning(
                    "run %s: its synchronous run() goes on past the end of its iteration "
                    "(a thread cannot be stopped); another thread stands in until it returns",
                    controller.run.id,
                )
                self.executor.lend(call)
            if not call.done():
                run_id = controller.run.id
                self.lingering.add(run_id)
                call.add_done_callback(lambda _call: self.lingering.discard(run_id))
            raise

    @staticmethod
    async def _call_cancellable(
        instance: TaskDefinition[Any], controller: TaskController[Any]
    ) -> Response:
        """`abort_mode = "cancel"` / `pause_mode = "cancel"`: such a request
        cancels the iteration at once; its partial work (state, children) is
        not saved. A cancelled pause keeps the state the last iteration
        saved (a `continue_` without state, which the pause request turns
        into PAUSED)."""
        token = controller.activate()
        try:
            inner = asyncio.ensure_future(_exit_as_error(instance.run(controller)))
        finally:
            controller.deactivate(token)
        loop = asyncio.get_running_loop()
        cancelled_by: list[str] = []

        def cancel_for(request: str) -> Callable[[], None]:
            def cancel() -> None:
                cancelled_by.append(request)
                loop.call_soon_threadsafe(inner.cancel)

            return cancel

        runtime = controller.runtime
        removers = []
        if instance.abort_mode == "cancel":
            removers.append(runtime.on_abort(cancel_for("abort")))
        if instance.pause_mode == "cancel" and instance.pausable:
            removers.append(runtime.on_pause(cancel_for("pause")))
        try:
            return as_response(await asyncio.shield(inner))
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if inner.cancelled() and (current is None or current.cancelling() == 0):
                controller.children_requested.clear()
                if cancelled_by[:1] == ["pause"] and not runtime.is_aborted():
                    controller.log.info("the iteration was cancelled by a pause request")
                    return Continue()
                return Aborted("cancelled on request")
            inner.cancel()
            raise
        finally:
            for remove in removers:
                remove()


def _ending(row: RowMapping, now: float) -> RunError | None:
    """Why the run must end now without (another) iteration: it expired
    before it started, or its deadline passed."""
    expires_at = row["expires_at"]
    if expires_at is not None and expires_at <= now and row["iterations"] == row["attempt"] == 0:
        return RunError(EXPIRED_MESSAGE, "EXPIRED")
    return _past_deadline(row, now)


def _past_deadline(row: RowMapping, now: float) -> RunError | None:
    deadline = deadline_of(row)
    if deadline is not None and deadline <= now:
        return RunError(deadline_message(row), "DEADLINE")
    return None


class _Exited(Exception):
    """SystemExit from task code run in a task of its own: a task that let
    SystemExit out would stop the event loop itself."""


async def _exit_as_error(run: Awaitable[Any]) -> Any:
    try:
        return await run
    except SystemExit as exc:
        raise _Exited(exc.code) from exc
