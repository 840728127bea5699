"""Issue 21, item 11, on SQLite and PostgreSQL: text a run keeps has a size
(definitions/text_limits.py). What a caller sends over it is refused with a
field error and nothing is written; what task code writes is cut, with a
marker. Before, an `abortTask` message of 4,000,000 characters was stored,
and on PostgreSQL an error code or progress units over their column failed
the iteration's write."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from taskloom.definitions import TaskController, TaskDefinition
from taskloom.definitions.errors import InvalidInput
from taskloom.definitions.filters import RunFilter
from taskloom.definitions.records import TaskStatus
from taskloom.definitions.text_limits import (
    CODE_CHARS,
    LOG_MESSAGE_CHARS,
    MESSAGE_CHARS,
    NAME_CHARS,
    STATUS_MESSAGE_CHARS,
    UNITS_CHARS,
)
from tests.integration.security_support import post, serve

WAIT = 30.0
ABORT = "mutation($id: ID!, $message: String) { abortTask(id: $id, message: $message) { status } }"
ABORT_MANY = """mutation($message: String) {
  abortTasks(where: {definitionId: "sec-hold"}, limit: 10, message: $message) { count }
}"""


def field_error(body: dict[str, Any]) -> tuple[str, list[str]]:
    (error,) = body["errors"]
    return error["extensions"]["code"], error["extensions"]["errors"][0]["loc"]


async def test_a_caller_is_refused_text_over_its_size_and_nothing_is_written(
    database_url: str,
) -> None:
    async with serve(database_url, worker=False) as server:
        service = server.taskloom.service
        run = await service.trigger("sec-hold", delay=3600, created_by="alice")
        huge = "x" * 4_000_000
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            one = (
                await post(client, ABORT, {"id": run.id, "message": huge}, server.tokens["alice"])
            ).json()
            many = (
                await post(client, ABORT_MANY, {"message": huge}, server.tokens["admin"])
            ).json()
        with pytest.raises(InvalidInput) as log_refused:
            await service.log(run.id, "INFO", "z" * (LOG_MESSAGE_CHARS + 1))
        with pytest.raises(InvalidInput):
            await service.trigger("sec-hold", name="n" * (NAME_CHARS + 1))
        logs = await service.logs(run.id)
        async with httpx.AsyncClient(base_url=server.url) as client:
            fits = (
                await post(
                    client,
                    ABORT,
                    {"id": run.id, "message": "y" * MESSAGE_CHARS},
                    server.tokens["alice"],
                )
            ).json()
        aborted = await service.get(run.id)
    assert field_error(one) == ("BAD_USER_INPUT", ["message"])
    assert field_error(many) == ("BAD_USER_INPUT", ["message"])
    assert log_refused.value.errors[0]["loc"] == ["message"]
    assert logs.items == []
    assert fits["data"]["abortTask"]["status"] == "ABORTED"
    assert aborted.error is not None and aborted.error.message == "y" * MESSAGE_CHARS


class Verbose(TaskDefinition[Any]):
    id = "sec-verbose"

    async def run(self, controller: TaskController[Any]) -> Any:
        if controller.run.iteration == 0:
            controller.log.info("l" * 100_000)
            controller.status("s" * 10_000)
            controller.progress(1, 2, "u" * 1_000)
            controller.trigger(Verbose, name="n" * 10_000)
            return controller.response.continue_()
        if controller.run.parent_id is not None:
            return controller.response.done()
        return controller.response.error("e" * 100_000, code="C" * 1_000)


async def test_text_task_code_writes_over_its_size_is_cut_with_a_marker(make_app: Any) -> None:
    app = await make_app(Verbose)
    run = await app.service.trigger(Verbose)
    failed = await app.service.wait(run.id, timeout=WAIT)
    (child,) = (await app.service.list_runs(RunFilter(parent_id=run.id))).items
    lines = [line.message for line in (await app.service.logs(run.id)).items]
    assert failed.status is TaskStatus.FAILED
    assert failed.error is not None
    assert failed.error.message.endswith("[cut from 100000 characters]")
    assert len(failed.error.message) == MESSAGE_CHARS
    assert failed.error.code is not None and len(failed.error.code) == CODE_CHARS
    assert failed.status_message is not None
    assert len(failed.status_message) == STATUS_MESSAGE_CHARS
    assert failed.progress is not None and len(failed.progress.units or "") == UNITS_CHARS
    assert child.name is not None and len(child.name) == NAME_CHARS
    cut = [line for line in lines if line.startswith("lll")]
    assert [len(line) for line in cut] == [LOG_MESSAGE_CHARS]
    assert cut[0].endswith("[cut from 100000 characters]")
