"""Lone UTF-16 surrogates (a stray half of a pair, as in file names read
from disk) in what an iteration writes, or in what a caller triggers, on
both databases.

Before: the outcome could not be encoded, so it was never saved; the run
stayed RUNNING and ran again at every lease expiry until it failed with
WORKER_LOST. A run name with one over GraphQL gave INTERNAL_SERVER_ERROR.
Now the text is replaced by U+FFFD and a WARNING line says where; an
outcome the database still refuses fails the run at once (OUTCOME_NOT_SAVED).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from taskloom.definitions import LogLevel, TaskController, TaskDefinition, TaskStatus
from taskloom.definitions.filters import RunFilter
from taskloom.server.taskloom import Taskloom
from tests.integration.graphql_support import served

BAD = "photo-\udce9.jpg"  # a Latin-1 byte decoded with surrogateescape
FIXED = "photo-\ufffd.jpg"
WAIT = 20.0


class Writes(TaskDefinition[Any]):
    """Puts the stray half everywhere an iteration writes text."""

    id = "surrogate-writes"
    executions: ClassVar[int] = 0

    async def run(self, controller: TaskController[Any]) -> Any:
        Writes.executions += 1
        controller.log.info(f"reading {BAD}", {"path": BAD})
        controller.status(f"at {BAD}")
        controller.trigger(Child.id, {"path": BAD}, name=BAD)
        return {"path": BAD}


class Child(TaskDefinition[Any]):
    id = "surrogate-child"

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


class Fails(TaskDefinition[Any]):
    id = "surrogate-fails"

    async def run(self, controller: TaskController[Any]) -> Any:
        return controller.response.error(f"cannot open {BAD}", "NO_FILE", retry=False)


class Raises(TaskDefinition[Any]):
    id = "surrogate-raises"

    async def run(self, controller: TaskController[Any]) -> Any:
        raise OSError(f"[Errno 2] No such file: {BAD!s}")


async def test_what_an_iteration_writes_is_saved_with_the_stray_half_replaced(
    make_app: Any,
) -> None:
    Writes.executions = 0
    app: Taskloom = await make_app(Writes, Child, lease_seconds=2.0)
    run = await app.service.trigger(Writes.id)
    done = await app.service.wait(run.id, timeout=WAIT)
    assert done.status is TaskStatus.SUCCEEDED, done.error
    assert done.output == {"path": FIXED}
    assert done.status_message == f"at {FIXED}"
    assert Writes.executions == 1, "saved at once, not re-run at lease expiries"
    lines = (await app.service.logs(run.id)).items
    assert [(line.level, line.message, line.data) for line in lines[:1]] == [
        (LogLevel.INFO, f"reading {FIXED}", {"path": FIXED})
    ]
    warning = lines[-1]
    assert warning.level is LogLevel.WARNING
    assert "lone UTF-16 surrogates" in warning.message
    assert warning.data == {"replaced": ["status message", "output", "log lines", "children"]}
    [child] = (await app.service.list_runs(RunFilter(parent_id=run.id))).items
    assert (child.name, child.input) == (FIXED, {"path": FIXED})


async def test_an_error_or_exception_message_with_one_fails_the_run_with_its_message(
    make_app: Any,
) -> None:
    app: Taskloom = await make_app(Fails, Raises, lease_seconds=2.0)
    failed = await app.service.trigger(Fails.id)
    raised = await app.service.trigger(Raises.id)
    first = await app.service.wait(failed.id, timeout=WAIT)
    second = await app.service.wait(raised.id, timeout=WAIT)
    assert first.status is second.status is TaskStatus.FAILED
    assert first.error is not None and second.error is not None
    assert (first.error.code, first.error.message) == ("NO_FILE", f"cannot open {FIXED}")
    assert second.error.code == "OSError"
    assert FIXED in second.error.message


async def test_a_run_name_and_input_with_one_are_stored_replaced(database_url: str) -> None:
    trigger = """
      mutation($name: String, $input: JSON) {
        triggerTask(definitionId: "surrogate-child", name: $name, input: $input) { id name input }
      }"""
    async with served(database_url, worker=False, definitions=(Child,)) as (app, client):
        variables = {"name": BAD, "input": {BAD: [BAD]}}
        body = json.dumps({"query": trigger, "variables": variables})  # "\\udce9" escapes
        response = await client.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 200, response.text
        answer = response.json()
        assert "errors" not in answer, answer["errors"]
        run = answer["data"]["triggerTask"]
        assert (run["name"], run["input"]) == (FIXED, {FIXED: [FIXED]})
        stored = await app.service.get(run["id"])
        assert (stored.name, stored.input) == (FIXED, {FIXED: [FIXED]})
        keyed = await app.service.trigger(Child.id, idempotency_key=BAD)
        again = await app.service.trigger(Child.id, idempotency_key=BAD)
        assert keyed.id == again.id


class Poisoned(TaskDefinition[Any]):
    id = "surrogate-poisoned"
    executions: ClassVar[int] = 0

    async def run(self, controller: TaskController[Any]) -> Any:
        Poisoned.executions += 1
        controller.status("poison")
        return {"done": True}


REFUSE = {
    "sqlite": [
        "CREATE TRIGGER refuse_poison BEFORE UPDATE ON task_runs "
        "WHEN NEW.status_message = 'poison' "
        "BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN "
        "IF NEW.status_message = 'poison' THEN RAISE EXCEPTION 'refused by a test trigger' "
        "USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_poison BEFORE UPDATE ON task_runs "
        "FOR EACH ROW EXECUTE FUNCTION refuse_poison()",
    ],
}


async def test_an_outcome_the_database_still_refuses_fails_the_run_at_once(
    make_app: Any,
) -> None:
    Poisoned.executions = 0
    app: Taskloom = await make_app(Poisoned, lease_seconds=2.0)

    def refuse(conn: Any) -> None:
        for statement in REFUSE[app.database.dialect]:
            conn.exec_driver_sql(statement)

    await app.database.write_fn(refuse)
    run = await app.service.trigger(Poisoned.id)
    done = await app.service.wait(run.id, timeout=WAIT)
    assert done.status is TaskStatus.FAILED
    assert done.error is not None
    assert done.error.code == "OUTCOME_NOT_SAVED"
    assert "refused by a test trigger" in done.error.message
    assert Poisoned.executions == 1, "failed at once, not re-run at lease expiries"
    [line] = (await app.service.logs(run.id)).items
    assert line.level is LogLevel.ERROR
    assert line.message == done.error.message
