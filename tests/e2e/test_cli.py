"""The operator commands through the real `taskloom` entry point, against a
served instance over GraphQL (with its token) and straight to its database:
--json output, tables, logs, wait with its exit codes, run control."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from typer.testing import CliRunner

import taskloom.definitions.examples  # noqa: F401  (registers countdown, for the database mode)
from taskloom.definitions.text_limits import MESSAGE_CHARS
from taskloom.server.cli import app
from tests.e2e.conftest import ServerProcess

FAST = '{"start": 3, "delay_seconds": 0}'
LONG = '{"start": 1000, "delay_seconds": 1}'


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


class Cli:
    """Runs `taskloom` commands against the server: in this process through
    Typer's test runner (fast), or with `real=True` as a subprocess through
    the installed console script."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        assert server.token is not None
        self.remote = ["--url", server.base_url, "--token", server.token]

    def __call__(self, *args: str, remote: bool = True, real: bool = False) -> Result:
        full = [*args, *(self.remote if remote else [])]
        if real:
            done = self.server.run(*full, timeout=90)
            return Result(done.returncode, done.stdout, done.stderr)
        invoked = CliRunner().invoke(app, full)
        if invoked.exception is not None and not isinstance(invoked.exception, SystemExit):
            raise invoked.exception
        return Result(invoked.exit_code, invoked.stdout, invoked.stderr)

    def json(self, *args: str, remote: bool = True) -> Any:
        result = self(*args, "--json", remote=remote)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def cli(taskloom_server: ServerProcess) -> Cli:
    return Cli(taskloom_server)


def test_trigger_wait_show_runs_and_logs_over_graphql(cli: Cli) -> None:
    definitions = cli.json("definitions")
    countdown = next(d for d in definitions if d["id"] == "countdown")
    assert "start" in countdown["input_schema"]["properties"]

    waited_for = cli(
        "trigger", "countdown", "-i", FAST, "--name", "cli run", "--wait", "--json", real=True
    )
    assert waited_for.returncode == 0, waited_for.stderr
    run = json.loads(waited_for.stdout)
    assert run["status"] == "SUCCEEDED"
    assert run["output"] == {"counted": 3}
    assert run["definition_id"] == "countdown" and run["name"] == "cli run"
    assert run["progress"]["percent"] == 100

    shown = cli.json("show", run["id"])
    assert shown["id"] == run["id"] and shown["status"] == "SUCCEEDED"
    # the database mode gives the same record for the same run
    direct = cli.json("show", run["id"], "--database-url", cli.server.database_url, remote=False)
    assert {k: direct[k] for k in ("id", "status", "output", "iterations", "input")} == {
        k: shown[k] for k in ("id", "status", "output", "iterations", "input")
    }

    listed = cli.json("runs", "--status", "succeeded", "--definition", "countdown")
    assert listed["total"] == 1 and [r["id"] for r in listed["runs"]] == [run["id"]]
    assert cli.json("runs", "--search", "no such name")["total"] == 0

    table = cli("runs")
    assert table.returncode == 0, table.stderr
    assert run["id"] in table.stdout and "SUCCEEDED" in table.stdout

    logs = cli("logs", run["id"], "--json")
    lines = [json.loads(line) for line in logs.stdout.splitlines()]
    assert [line["message"] for line in lines] == ["3...", "2...", "1..."]
    followed = cli("logs", run["id"], "--follow")  # ends by itself: the run has ended
    assert followed.returncode == 0 and "1..." in followed.stdout

    waited = cli("wait", run["id"])
    assert waited.returncode == 0, waited.stderr
    assert "SUCCEEDED" in waited.stdout


def test_wait_exit_codes_and_run_control(cli: Cli) -> None:
    long = cli.json("trigger", "countdown", "--input", LONG)
    assert long["status"] == "PENDING"

    timed_out = cli("wait", long["id"], "--timeout", "0.5")
    assert timed_out.returncode == 5
    assert "still" in timed_out.stderr

    paused = cli.json("pause", long["id"])
    assert paused["status"] == "PAUSED" or paused["requested"] == "PAUSE"
    resumed_or_conflict = cli("resume", long["id"], "--json")
    if paused["status"] == "PAUSED":
        assert resumed_or_conflict.returncode == 0, resumed_or_conflict.stderr
        assert json.loads(resumed_or_conflict.stdout)["status"] in ("PENDING", "RUNNING")

    aborted = cli.json("abort", long["id"], "--message", "enough")
    assert aborted["status"] == "ABORTED" or aborted["requested"] == "ABORT"
    waited = cli("wait", long["id"], "--json")
    assert waited.returncode == 4, waited.stderr
    assert json.loads(waited.stdout)["status"] == "ABORTED"

    again = cli("abort", long["id"])
    assert again.returncode == 1
    assert "error:" in again.stderr

    retried = cli.json("retry", long["id"])
    assert retried["status"] in ("PENDING", "RUNNING")
    cli.json("abort", retried["id"])
    assert cli("wait", retried["id"], "--quiet").returncode == 4

    failing = cli(
        "trigger", "flaky", "--input", '{"failure_rate": 1}', "--wait", "--json", real=True
    )
    assert failing.returncode == 3, failing.stderr
    assert json.loads(failing.stdout)["status"] == "FAILED"


def test_errors_are_messages_with_exit_1(cli: Cli, taskloom_server: ServerProcess) -> None:
    bad = cli("trigger", "countdown", "--input", '{"start": 0}', real=True)
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert "start: Input should be greater than or equal to 1" in bad.stderr
    assert "Traceback" not in bad.stderr

    missing = cli("show", "00000000-0000-0000-0000-000000000000")
    assert missing.returncode == 1 and "no task run" in missing.stderr

    not_json = cli("trigger", "countdown", "--input", "{nope")
    assert not_json.returncode == 2 and "not valid JSON" in not_json.stderr

    anonymous = cli("runs", "--url", taskloom_server.base_url, remote=False)
    assert anonymous.returncode == 1
    assert "error:" in anonymous.stderr and "Traceback" not in anonymous.stderr

    unreachable = cli("runs", "--url", "http://127.0.0.1:9", remote=False)
    assert unreachable.returncode == 1 and "cannot reach" in unreachable.stderr


def test_an_abort_message_over_its_size_is_refused_and_the_run_stays(cli: Cli) -> None:
    waiting = cli.json("trigger", "countdown", "--input", LONG, "--delay", "3600")
    too_long = "m" * (MESSAGE_CHARS + 1)
    for mode in ((), ("--database-url", cli.server.database_url)):
        refused = cli("abort", waiting["id"], "--message", too_long, *mode, remote=not mode)
        assert refused.returncode == 1
        assert f"message: must be at most {MESSAGE_CHARS} characters" in refused.stderr
    assert cli.json("show", waiting["id"])["status"] == "PENDING"


@pytest.mark.parametrize("remote", [True, False], ids=["graphql", "database"])
def test_pause_and_resume_a_definition(cli: Cli, remote: bool) -> None:
    where = () if remote else ("--database-url", cli.server.database_url)
    paused = cli("pause-definition", "countdown", *where, remote=remote)
    assert paused.returncode == 0, paused.stderr
    assert "definition countdown paused" in paused.stdout
    held = cli.json("trigger", "countdown", "--input", FAST)
    assert cli("wait", held["id"], "--timeout", "1").returncode == 5
    resumed = cli("resume-definition", "countdown", *where, remote=remote)
    assert resumed.returncode == 0, resumed.stderr
    waited = cli("wait", held["id"], "--json", "--timeout", "30")
    assert waited.returncode == 0, waited.stderr
    unknown = cli("pause-definition", "no-such-definition", *where, remote=remote)
    assert unknown.returncode == 1
    assert "error:" in unknown.stderr


@pytest.mark.parametrize("remote", [True, False], ids=["graphql", "database"])
def test_create_list_and_delete_a_schedule(cli: Cli, remote: bool) -> None:
    where = () if remote else ("--database-url", cli.server.database_url)
    made = cli(
        "create-schedule",
        "countdown",
        "0 4 * * *",
        "--timezone",
        "Europe/Berlin",
        "--input",
        FAST,
        "--json",
        *where,
        remote=remote,
    )
    assert made.returncode == 0, made.stderr
    [schedule] = json.loads(made.stdout)
    assert (schedule["declared"], schedule["timezone"]) == (False, "Europe/Berlin")
    assert schedule["input"] == json.loads(FAST)
    listed = cli("schedules", "--json", *where, remote=remote)
    assert schedule["id"] in {s["id"] for s in json.loads(listed.stdout)}
    bad = cli("create-schedule", "countdown", "not cron", *where, remote=remote)
    assert bad.returncode == 1 and "expression" in bad.stderr
    deleted = cli("delete-schedule", schedule["id"], *where, remote=remote)
    assert deleted.returncode == 0, deleted.stderr
    again = cli("delete-schedule", schedule["id"], *where, remote=remote)
    assert again.returncode == 1
