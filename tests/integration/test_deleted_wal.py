"""The WAL file of a live SQLite database deleted under it: noticed within
about a second, and every later write refused with a clear error (GraphQL
UNAVAILABLE), instead of acknowledging writes that the next process to
open the file can no longer read ("database disk image is malformed")."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from taskloom.definitions import TaskController, TaskDefinition
from taskloom.definitions.errors import Unavailable
from tests.integration.graphql_support import post, served


class Job(TaskDefinition[Any]):
    id = "wal-job"

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_writes_are_refused_once_the_wal_is_deleted(database_url: str) -> None:
    path = database_url.split(":///", 1)[1]
    trigger = 'mutation { triggerTask(definitionId: "wal-job") { id } }'
    async with served(database_url, worker=False, definitions=(Job,)) as (app, client):
        await app.service.trigger(Job.id)
        await asyncio.sleep(1.5)  # the checkpointer has seen the WAL
        os.remove(f"{path}-wal")
        refused = None
        for _ in range(60):
            try:
                await app.service.trigger(Job.id)
            except Unavailable as exc:
                refused = exc
                break
            await asyncio.sleep(0.1)
        assert refused is not None, "writes went on after the WAL was deleted"
        assert f"{path}-wal was deleted" in refused.message
        [error] = (await post(client, trigger))["errors"]
        assert error["extensions"]["code"] == "UNAVAILABLE"
        assert "write-ahead log" in error["message"]
