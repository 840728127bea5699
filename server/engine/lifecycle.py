"""A run's life as a pure function: what an iteration's answer leads to.

No I/O and no clock of its own, so every branch of a run's life
(docs/architecture.md, section 3) is unit-tested here; the engine only
carries the result to the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taskloom.definitions.records import RunError, TaskStatus, WaitReason
from taskloom.definitions.responses import (
    Aborted,
    Continue,
    Done,
    Error,
    Response,
    WaitForChildren,
)
from taskloom.definitions.retry import Retry
from taskloom.server.store.new_runs import due_after
from taskloom.server.store.transitions import WAITING_RUN_AT

# Plain strings: the outcome binds them (store/iteration_outcome.py).
PENDING = TaskStatus.PENDING.value
PAUSED = TaskStatus.PAUSED.value
SUCCEEDED = TaskStatus.SUCCEEDED.value
FAILED = TaskStatus.FAILED.value
ABORTED = TaskStatus.ABORTED.value


@dataclass(slots=True)
class RunPosition:
    """What the engine knows of the run when its iteration ends."""

    iterations: int
    attempt: int
    state: dict[str, Any]
    max_iterations: int
    retry: Retry
    abort_requested: bool = False
    pause_requested: bool = False
    # Set when the run must end FAILED whatever it answered short of done:
    # its deadline passed (DEADLINE) or it expired unstarted (EXPIRED).
    ending: RunError | None = None
    # False when `ending` kept run() from being called: no iteration counted.
    ran: bool = True


@dataclass(slots=True)
class Transition:
    status: str
    state: dict[str, Any]
    iterations: int
    attempt: int
    run_at: float
    output: Any = None
    error: RunError | None = None
    finished: bool = False
    new_attempt: bool = False
    clear_request: bool = False
    hook: str | None = None
    record_attempt: bool = False
    waiting: str | None = None


def _end(
    run: RunPosition, now: float, status: str, hook: str, state: dict[str, Any], **extra: Any
) -> Transition:
    """A final transition: the attempt is recorded and the hook named."""
    return Transition(
        status,
        state,
        run.iterations + 1,
        run.attempt,
        now,
        finished=True,
        clear_request=True,
        hook=hook,
        record_attempt=True,
        **extra,
    )


def decide(run: RunPosition, response: Response, now: float, draw: float = 1.0) -> Transition:
    """`draw` (0 to 1) picks a retry's wait within its policy's jitter."""
    done = run.iterations + 1
    if isinstance(response, Done):
        return _end(run, now, SUCCEEDED, "on_done", run.state, output=response.output)
    if isinstance(response, Aborted) or run.abort_requested:
        message = (
            response.message if isinstance(response, Aborted) and response.message else None
        ) or "aborted on request"
        state = response.state if isinstance(response, Continue) and response.state else run.state
        return _end(run, now, ABORTED, "on_abort", state, error=RunError(message, ABORTED))
    if run.ending is not None:
        ended = _end(run, now, FAILED, "on_error", run.state, error=run.ending)
        if not run.ran:
            ended.iterations = run.iterations
        return ended
    if isinstance(response, Continue | WaitForChildren):
        state = run.state if response.state is None else response.state
        if done >= run.max_iterations:
            message = f"the run reached its limit of {run.max_iterations} iterations"
            error = RunError(message, "MAX_ITERATIONS")
            return _end(run, now, FAILED, "on_max_iterations", state, error=error)
        waiting = None
        run_at = now
        if isinstance(response, WaitForChildren):
            # Not due until store/waits.py finds every child ended.
            waiting, run_at = WaitReason.CHILDREN.value, WAITING_RUN_AT
        elif not run.pause_requested:
            run_at = due_after(now, response.delay)
        if run.pause_requested:
            # An honoured pause: the state is saved, resume() re-queues it.
            return Transition(
                PAUSED, state, done, run.attempt, run_at, clear_request=True, waiting=waiting
            )
        return Transition(PENDING, state, done, run.attempt, run_at, waiting=waiting)
    error = RunError(response.message, response.code, response.data)
    if retryable(run.retry, response) and run.retry.allows(run.attempt):
        return Transition(
            PAUSED if run.pause_requested else PENDING,
            run.state,
            done,
            run.attempt + 1,
            now + run.retry.wait_after(run.attempt, draw),
            error=error,
            new_attempt=True,
            record_attempt=True,
            clear_request=run.pause_requested,
        )
    return _end(run, now, FAILED, "on_error", run.state, error=error)


def retryable(retry: Retry, error: Error) -> bool:
    """Whether the failure may be retried at all: not `error(retry=False)`,
    nor a code or exception type the policy gives up on."""
    return error.retry and not retry.gives_up_on(error.code, error.exception)
