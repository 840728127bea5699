"""Retry policies through the real engine, on SQLite and PostgreSQL:
exponential backoff (each wait in runAt and a log line), `error(...,
retry=False)`, `Retry(give_up_on=[...])`, and `on_retry` refusing a retry,
automatic or by request."""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar, Literal

import pytest

from taskloom.definitions import (
    Conflict,
    Retry,
    RunError,
    TaskController,
    TaskDefinition,
    TaskStatus,
)
from taskloom.definitions.records import LogLevel, WaitReason
from taskloom.server.taskloom import Taskloom
from tests.integration.graphql_support import data, served

WAIT = 10.0


class Exponential(TaskDefinition[Any]):
    """Always fails: waits 0.05 s, 0.5 s, then 5 s (then 50, then 60)."""

    id = "policy-exponential"
    retry = Retry.exponential(attempts=5, wait_seconds=0.05, factor=10, max_wait=60)

    async def run(self, controller: TaskController[Any]) -> Any:
        if controller.run.attempt < 5:
            raise ConnectionError(f"attempt {controller.run.attempt}")
        return "ok"


class Permanent(Exception):
    pass


class Declines(TaskDefinition[Any]):
    """Fails in the way its input names; the policy would allow 5 retries."""

    id = "policy-declines"
    retry = Retry(attempts=5, wait_seconds=0, give_up_on=["BAD_REQUEST", LookupError])
    tries: ClassVar[dict[str, int]] = {}

    async def run(self, controller: TaskController[Any]) -> Any:
        Declines.tries[controller.run.id] = Declines.tries.get(controller.run.id, 0) + 1
        how = controller.input.model_dump()["how"]
        if how == "final":
            return controller.response.error("no point", code="QUOTA", retry=False)
        if how == "code":
            return controller.response.error("bad request", code="BAD_REQUEST")
        if how == "subclass":
            raise KeyError("missing")
        if controller.run.attempt < 1:
            raise ValueError("transient")
        return "recovered"


class Refuses(TaskDefinition[Any]):
    """`on_retry` refuses once the error says so."""

    id = "policy-refuses"
    retry = Retry(attempts=3, wait_seconds=0)
    asked: ClassVar[list[str | None]] = []

    async def run(self, controller: TaskController[Any]) -> Any:
        return controller.response.error("failed", code=controller.input.model_dump()["code"])

    def on_retry(self, input: Any, error: RunError | None) -> Literal[False] | None:
        Refuses.asked.append(error.code if error else None)
        return False if error is not None and error.code == "STOP" else None


async def test_exponential_waits_show_in_run_at_and_a_log_line(make_app: Any) -> None:
    app: Taskloom = await make_app(Exponential)
    run = await app.service.trigger("policy-exponential")
    deadline = time.monotonic() + WAIT
    while (run := await app.service.get(run.id)).attempt < 3:
        assert time.monotonic() < deadline, "the run never reached its fourth attempt"
        await asyncio.sleep(0.02)
    # A started run waiting for its retry reads RUNNING, waiting until runAt.
    assert run.status is TaskStatus.RUNNING
    assert run.waiting is not None and run.waiting.reason is WaitReason.TIME
    assert run.waiting.until == run.run_at
    wait = run.run_at.timestamp() - run.updated_at.timestamp()
    assert wait == pytest.approx(5, abs=0.01)
    page = await app.service.logs(run.id, first=100)
    lines = [entry for entry in page.items if entry.message.startswith("retry ")]
    assert [line.level for line in lines] == [LogLevel.INFO] * 3
    assert [line.message.split(" in ")[0] for line in lines] == [
        "retry 1 of 5",
        "retry 2 of 5",
        "retry 3 of 5",
    ]
    assert [line.data["waitSeconds"] for line in lines] == pytest.approx([0.05, 0.5, 5])
    assert lines[-1].data["runAt"] == run.run_at.isoformat(timespec="milliseconds")


@pytest.mark.parametrize(
    ("how", "code"), [("final", "QUOTA"), ("code", "BAD_REQUEST"), ("subclass", "KeyError")]
)
async def test_errors_the_policy_gives_up_on_fail_at_once(
    make_app: Any, how: str, code: str
) -> None:
    app: Taskloom = await make_app(Declines)
    run = await app.service.trigger("policy-declines", {"how": how})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.FAILED
    assert run.error is not None and run.error.code == code
    assert (run.attempt, Declines.tries[run.id]) == (0, 1)


async def test_other_errors_are_still_retried(make_app: Any) -> None:
    app: Taskloom = await make_app(Declines)
    run = await app.service.trigger("policy-declines", {"how": "transient"})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert (run.status, run.attempt, run.output) == (TaskStatus.SUCCEEDED, 1, "recovered")


async def test_on_retry_refusing_fails_the_run_with_its_error(make_app: Any) -> None:
    Refuses.asked.clear()
    app: Taskloom = await make_app(Refuses)
    run = await app.service.trigger("policy-refuses", {"code": "STOP"})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.FAILED
    assert run.error is not None and (run.error.code, run.error.message) == ("STOP", "failed")
    assert run.attempt == 0
    assert Refuses.asked == ["STOP"]
    page = await app.service.logs(run.id, first=100)
    assert [(e.level, e.message) for e in page.items] == [
        (LogLevel.WARNING, "policy-refuses.on_retry refused the retry")
    ]
    with pytest.raises(Conflict, match="refused the retry"):
        await app.service.retry(run.id)
    assert (await app.service.get(run.id)).status is TaskStatus.FAILED


async def test_on_retry_accepting_lets_the_policy_retry(make_app: Any) -> None:
    Refuses.asked.clear()
    app: Taskloom = await make_app(Refuses)
    run = await app.service.trigger("policy-refuses", {"code": "AGAIN"})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert (run.status, run.attempt) == (TaskStatus.FAILED, 3)
    assert Refuses.asked == ["AGAIN"] * 3


async def test_graphql_describes_the_policy(database_url: str) -> None:
    async with served(database_url, definitions=(Exponential, Declines), worker=False) as (
        _app,
        client,
    ):
        query = """{ taskDefinitions { id retry {
            attempts waitSeconds multiplier backoff factor maxWait jitter giveUpOn } } }"""
        found = {d["id"]: d["retry"] for d in (await data(client, query))["taskDefinitions"]}
    assert found["policy-exponential"] == {
        "attempts": 5,
        "waitSeconds": 0.05,
        "multiplier": 1.0,
        "backoff": "exponential",
        "factor": 10.0,
        "maxWait": 60.0,
        "jitter": 0.0,
        "giveUpOn": [],
    }
    assert found["policy-declines"]["giveUpOn"] == ["BAD_REQUEST", "LookupError"]
    assert found["policy-declines"]["backoff"] == "linear"
