"""Flows from the command line, against a served instance over GraphQL and
straight on its database: `trigger --after/--deadline/--expires` and
`abort --no-cascade`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import ServerProcess
from tests.e2e.test_cli import FAST, LONG, Cli, Result


@pytest.fixture
def cli(taskloom_server: ServerProcess) -> Cli:
    return Cli(taskloom_server)


class Backend:
    """`cli` over GraphQL, or straight on the server's database."""

    def __init__(self, cli: Cli, remote: bool) -> None:
        self.cli = cli
        self.remote = remote
        self.extra = () if remote else ("--database-url", cli.server.database_url)

    def __call__(self, *args: str) -> Result:
        return self.cli(*args, *self.extra, remote=self.remote)

    def json(self, *args: str) -> Any:
        return self.cli.json(*args, *self.extra, remote=self.remote)


@pytest.mark.parametrize("remote", [True, False], ids=["graphql", "database"])
def test_after_and_abort_with_and_without_cascade(cli: Cli, remote: bool) -> None:
    run = Backend(cli, remote)
    first = run.json("trigger", "countdown", "--input", LONG)
    second = run.json("trigger", "countdown", "--input", FAST, "--after", first["id"])
    assert second["status"] == "PENDING"
    assert second["waiting"]["reason"] == "DEPENDENCIES"

    run.json("abort", first["id"], "--message", "enough", "--no-cascade")
    assert run("wait", first["id"], "--quiet", "--timeout", "30").returncode == 4
    failed = run("wait", second["id"], "--json", "--timeout", "30")
    assert failed.returncode == 3, failed.stderr
    assert f"dependency {first['id']} ended ABORTED" in failed.stdout

    parent = run.json("trigger", "countdown", "--input", LONG)
    dependent = run.json("trigger", "countdown", "--input", FAST, "--after", parent["id"])
    run.json("abort", parent["id"], "--message", "stop")
    aborted = run("wait", dependent["id"], "--json", "--timeout", "30")
    assert aborted.returncode == 4, aborted.stderr
    assert "which it runs after, was aborted: stop" in aborted.stdout


def test_deadline_and_expiry_options(cli: Cli) -> None:
    run = cli.json("trigger", "countdown", "--input", LONG, "--deadline", "1", "--expires", "60")
    assert run["deadline_seconds"] == 1
    assert run["expires_at"] is not None
    ended = cli("wait", run["id"], "--json", "--timeout", "30")
    assert ended.returncode == 3, ended.stderr
    assert "DEADLINE" in ended.stdout
    bad = cli("trigger", "countdown", "--input", FAST, "--deadline", "-1")
    assert bad.returncode == 1
    assert "deadline" in bad.stderr


@pytest.mark.parametrize("remote", [True, False], ids=["graphql", "database"])
def test_show_lists_dependencies_and_children(cli: Cli, remote: bool) -> None:
    run = Backend(cli, remote)
    first = run.json("trigger", "countdown", "--input", LONG, "--delay", "3600")
    second = run.json("trigger", "countdown", "--input", FAST, "--after", first["id"])
    shown = run.json("show", second["id"])
    assert shown["dependencies"] == [{"id": first["id"], "status": "PENDING"}]
    assert shown["children"] == 0

    parent = run.json("trigger", "fan-out", "--input", '{"children": 2}', "--wait")
    assert parent["status"] == "SUCCEEDED"
    shown = run.json("show", parent["id"])
    assert (shown["dependencies"], shown["children"]) == ([], 2)
