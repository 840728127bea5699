from __future__ import annotations

from typing import Any

from definitions import TaskController, TaskDefinition, TaskStatus


class Hello(TaskDefinition[Any]):
    id = "hello"

    async def run(self, controller: TaskController[Any]) -> Any:
        controller.log.info("hello")
        return {"greeting": "hello"}


async def test_a_run_finishes_with_its_output_and_logs(make_app: Any) -> None:
    app = await make_app(Hello)
    run = await app.service.trigger("hello")
    run = await app.service.wait(run.id, timeout=5)
    assert run.status is TaskStatus.SUCCEEDED
    assert run.output == {"greeting": "hello"}
    logs = await app.service.logs(run.id)
    assert [entry.message for entry in logs.items] == ["hello"]
