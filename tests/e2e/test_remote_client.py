"""`taskloom.Client` / `SyncClient` against a real `taskloom serve` process,
with a token of each role (created by `taskloom token create`), and the
CLI's `trigger --from-file`, over the server and straight to its database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from taskloom import Client, SyncClient
from taskloom.definitions import InvalidInput, NotFound, TaskStatus, Unauthenticated
from taskloom.definitions.filters import RunFilter
from tests.e2e.conftest import ServerProcess

FAST = {"start": 2, "delay_seconds": 0}


def token(server: ServerProcess, name: str, role: str) -> str:
    done = server.run("token", "create", "--name", name, "--role", role)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture
def tokens(taskloom_server: ServerProcess) -> dict[str, str]:
    assert taskloom_server.token is not None
    return {
        "admin": taskloom_server.token,
        "developer": token(taskloom_server, "dev", "developer"),
        "alice": token(taskloom_server, "alice", "user"),
        "bob": token(taskloom_server, "bob", "user"),
    }


@pytest.mark.parametrize("who", ["admin", "developer", "alice"])
def test_each_role_triggers_follows_and_reads_its_runs(
    taskloom_server: ServerProcess, tokens: dict[str, str], who: str
) -> None:
    with SyncClient(taskloom_server.base_url, tokens[who]) as tasks:
        run = tasks.trigger("countdown", FAST, name=f"{who}'s")
        assert run.created_by == (who if who != "developer" else "dev")
        updates = list(tasks.watch(run.id))
        assert updates[-1].status is TaskStatus.SUCCEEDED
        assert updates[-1].output == {"counted": 2}
        assert tasks.wait(run.id, timeout=30) == tasks.get(run.id)
        assert [line.message for line in tasks.logs(run.id).items] == ["2...", "1..."]
        assert tasks.history(run.id)[0].status is TaskStatus.SUCCEEDED
        batch = tasks.trigger_many("countdown", [FAST, FAST], delay=3600)
        where = RunFilter(definition_id="countdown", statuses=("PENDING",))
        assert tasks.count_runs(where) >= 2
        aborted = tasks.abort_many(where, limit=10)
        assert {r.id for r in batch} <= {r.id for r in aborted.runs}
        with pytest.raises(InvalidInput) as refused:
            tasks.trigger("countdown", {"start": 0})
        assert refused.value.errors[0]["loc"] == ["start"]


def test_a_user_cannot_reach_another_users_runs(
    taskloom_server: ServerProcess, tokens: dict[str, str]
) -> None:
    url = taskloom_server.base_url
    with SyncClient(url, tokens["alice"]) as alice, SyncClient(url, tokens["bob"]) as bob:
        mine = alice.trigger("countdown", FAST, delay=3600)
        with pytest.raises(NotFound):
            bob.get(mine.id)
        with pytest.raises(NotFound):
            list(bob.watch(mine.id))
        assert bob.abort_many(RunFilter(), limit=100).count == 0
        assert alice.get(mine.id).status is TaskStatus.PENDING
    with SyncClient(url, "tl_wrong") as stranger, pytest.raises(Unauthenticated):
        stranger.count_runs()


async def test_the_async_client_streams_logs_over_the_websocket(
    taskloom_server: ServerProcess, tokens: dict[str, str]
) -> None:
    async with Client(taskloom_server.base_url, tokens["developer"]) as tasks:
        run = await tasks.trigger("countdown", {"start": 3, "delay_seconds": 0.2}, delay=1)
        lines = [line.message async for line in tasks.follow_logs(run.id)]
        assert lines == ["3...", "2...", "1..."]
        assert (await tasks.wait(run.id, timeout=30)).status is TaskStatus.SUCCEEDED


def test_trigger_from_file_over_the_server_and_the_database(
    taskloom_server: ServerProcess, tmp_path: Path
) -> None:
    good = tmp_path / "runs.jsonl"
    good.write_text('{"start": 1, "delay_seconds": 0}\n\n{"start": 2, "delay_seconds": 0}\n')
    remote = ["--url", taskloom_server.base_url, "--token", str(taskloom_server.token)]
    done = taskloom_server.run("trigger", "countdown", "--from-file", str(good), *remote)
    assert done.returncode == 0, done.stderr
    runs = json.loads(done.stdout)
    assert [run["input"]["start"] for run in runs] == [1, 2]
    assert {run["created_by"] for run in runs} == {"admin"}

    direct = taskloom_server.run("trigger", "countdown", "--from-file", str(good), "--json")
    assert direct.returncode == 0, direct.stderr
    assert [run["input"]["start"] for run in json.loads(direct.stdout)] == [1, 2]

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"start": 1}\n{"start": 0}\n\n{"start": "x"}\n')
    refused = taskloom_server.run("trigger", "countdown", "--from-file", str(bad), *remote)
    assert refused.returncode == 1 and refused.stdout == ""
    message = " ".join(refused.stderr.split())
    assert "line 2: start:" in message and "line 4: start:" in message
    assert "Traceback" not in refused.stderr

    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"start": 1}\n{nope\n')
    not_json = taskloom_server.run("trigger", "countdown", "--from-file", str(broken), *remote)
    assert not_json.returncode == 2
    assert " ".join(not_json.stderr.split()).startswith("error: line 2 of ")

    with SyncClient(taskloom_server.base_url, taskloom_server.token) as tasks:
        assert tasks.count_runs(RunFilter(definition_id="countdown")) == 4  # none of the refused
