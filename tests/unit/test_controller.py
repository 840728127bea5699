"""The controller an iteration sees: input, state, run, log, progress,
status, child requests and `current_run()`."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from pydantic import BaseModel

from taskloom.definitions import RunInfo, TaskController, current_run
from taskloom.definitions.controller import new_id
from taskloom.definitions.records import LogLevel, Progress
from taskloom.definitions.responses import Continue, Done
from taskloom.definitions.runtime import Runtime


class Input(BaseModel):
    name: str


def make(**options: Any) -> TaskController[Input]:
    options.setdefault("input", Input(name="ada"))
    return TaskController(
        state={"cursor": 2},
        run=RunInfo(id="r1", definition_id="d1", iteration=3, attempt=1),
        runtime=Runtime(10, clock=lambda: 0.0),
        **options,
    )


def test_exposes_input_state_run_and_runtime() -> None:
    controller = make()
    assert controller.input.name == "ada"
    assert controller.state == {"cursor": 2}
    assert (controller.run.id, controller.run.iteration, controller.run.attempt) == ("r1", 3, 1)
    assert controller.runtime.remaining_seconds() == 10


def test_an_input_factory_is_called_once_on_first_read() -> None:
    calls: list[int] = []

    def parse() -> Input:
        calls.append(1)
        return Input(name="lazy")

    controller = make(input=parse)
    assert calls == []
    assert controller.input.name == "lazy"
    assert controller.input is controller.input
    assert calls == [1]
    controller.input = Input(name="set")
    assert controller.input.name == "set"


def test_responses_are_built_through_the_controller() -> None:
    controller = make()
    assert controller.response.done({"x": 1}) == Done({"x": 1})
    assert controller.response.continue_(state={"a": 1}) == Continue({"a": 1})


def test_log_lines_are_buffered_until_drained() -> None:
    controller = make()
    controller.log.debug("d")
    controller.log.info("i", data={"k": 1})
    controller.log.warning("w")
    controller.log.error("e")
    entries = controller.log.drain()
    assert [(e.level, e.message) for e in entries] == [
        (LogLevel.DEBUG, "d"),
        (LogLevel.INFO, "i"),
        (LogLevel.WARNING, "w"),
        (LogLevel.ERROR, "e"),
    ]
    assert entries[1].data == {"k": 1}
    assert controller.log.drain() == []


def test_progress_keeps_the_last_value() -> None:
    controller = make()
    assert controller.progress_value is None
    controller.progress(1, 10, "rows")
    controller.progress(4, 10, "rows")
    assert controller.progress_value == Progress(4, 10, "rows")
    controller.progress(7)
    assert controller.progress_value == Progress(7, None, None)


def test_status_message_is_cut_to_500_characters_with_a_marker() -> None:
    controller = make()
    controller.status("x" * 500)
    assert controller.status_message == "x" * 500
    controller.status("x" * 600)
    assert controller.status_message is not None and len(controller.status_message) == 500
    assert controller.status_message.endswith("x… [cut from 600 characters]")
    controller.status(None)
    assert controller.status_message is None


def test_trigger_records_a_validated_child_and_returns_its_id() -> None:
    seen: list[tuple[Any, Any]] = []

    def validate(definition: Any, raw: Any) -> tuple[str, dict[str, Any]]:
        seen.append((definition, raw))
        return "child-def", {"n": int(raw["n"])}

    controller = make(validate_child=validate)
    first = controller.trigger("child-def", {"n": "1"}, name="one", priority=5, delay=2)
    second = controller.trigger("child-def", {"n": 2})
    assert first != second
    assert [c.id for c in controller.children_requested] == [first, second]
    child = controller.children_requested[0]
    assert (child.definition_id, child.input, child.name, child.priority, child.delay) == (
        "child-def",
        {"n": 1},
        "one",
        5,
        2,
    )
    assert seen == [("child-def", {"n": "1"}), ("child-def", {"n": 2})]


def test_trigger_propagates_a_validation_error_and_records_nothing() -> None:
    def validate(definition: Any, raw: Any) -> tuple[str, dict[str, Any]]:
        raise ValueError("bad child")

    controller = make(validate_child=validate)
    with pytest.raises(ValueError, match="bad child"):
        controller.trigger("x", {})
    assert controller.children_requested == []


def test_trigger_without_a_validator_is_refused() -> None:
    with pytest.raises(RuntimeError):
        make().trigger("x", {})


async def test_children_uses_the_lister_or_is_empty() -> None:
    assert await make().children() == []

    async def lister() -> list[Any]:
        return ["a", "b"]

    assert await make(list_children=lister).children() == ["a", "b"]


def test_current_run_is_only_available_while_activated() -> None:
    controller = make()
    with pytest.raises(LookupError):
        current_run()
    token = controller.activate()
    try:
        assert current_run() is controller
    finally:
        TaskController.deactivate(token)
    with pytest.raises(LookupError):
        current_run()


async def test_current_run_is_per_task_context() -> None:
    a, b = make(), make()

    async def use(controller: TaskController[Input]) -> TaskController[Any]:
        token = controller.activate()
        try:
            await asyncio.sleep(0)
            return current_run()
        finally:
            TaskController.deactivate(token)

    assert list(await asyncio.gather(use(a), use(b))) == [a, b]


def test_new_ids_are_uuid7_and_sort_by_creation_time() -> None:
    ids = [new_id() for _ in range(50)]
    parsed = [uuid.UUID(i) for i in ids]
    assert all(p.version == 7 for p in parsed)
    assert all(p.variant == uuid.RFC_4122 for p in parsed)
    assert len(set(ids)) == 50
    millis = [p.int >> 80 for p in parsed]
    assert millis == sorted(millis)
