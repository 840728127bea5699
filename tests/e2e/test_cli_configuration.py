"""Configuration mistakes at the command line: each is one line on stderr,
saying what is wrong and what to set, and exit status 2; `--debug` (or
TASKLOOM_DEBUG=1) shows the traceback. `taskloom serve` honours
TASKLOOM_HOST / TASKLOOM_PORT and says in one line that a port is taken."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import free_port, taskloom_command
from tests.support.postgres import PgCluster


def run(tmp_path: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TASKLOOM_")}
    full_env |= {"TASKLOOM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 't.db'}", **env}
    return subprocess.run(
        [*taskloom_command(), *argv],
        env=full_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def one_line_error(done: subprocess.CompletedProcess[str], *says: str) -> str:
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    (line,) = lines
    assert line.startswith("error: ") and "Traceback" not in line
    for words in says:
        assert words in line, line
    return line


MISTAKES = {
    "missing module": (
        {"TASKLOOM_DEFINITIONS": "myapp"},
        ("cannot import definitions module 'myapp'", "set TASKLOOM_DEFINITIONS"),
    ),
    "wrong scheme": (
        {"TASKLOOM_DATABASE_URL": "mysql://user:secret@db/app"},
        ("scheme Taskloom cannot use ('mysql')", "set TASKLOOM_DATABASE_URL to sqlite+aiosqlite"),
    ),
    "unreachable postgresql": (
        {"TASKLOOM_DATABASE_URL": "postgresql+asyncpg://app:secret@127.0.0.1:1/app"},
        ("cannot open PostgreSQL at 127.0.0.1:1/app", "check TASKLOOM_DATABASE_URL"),
    ),
    "sqlite folder missing": (
        {"TASKLOOM_DATABASE_URL": "sqlite+aiosqlite:////no/such/folder/t.db"},
        ("cannot open /no/such/folder/t.db: ", "check TASKLOOM_DATABASE_URL"),
    ),
    "bad setting": (
        {"TASKLOOM_CONCURRENCY": "lots"},
        ("TASKLOOM_CONCURRENCY='lots' is not valid", "set TASKLOOM_CONCURRENCY"),
    ),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
@pytest.mark.parametrize("command", ["migrate", "serve", "worker", "definitions"])
def test_a_configuration_mistake_is_one_line_and_exit_2(
    tmp_path: Path, mistake: str, command: str
) -> None:
    env, says = MISTAKES[mistake]
    if command == "migrate" and mistake == "missing module":
        pytest.skip("migrate imports no definitions")
    line = one_line_error(run(tmp_path, command, **env), *says)
    assert "secret" not in line, "the password is never printed"


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    for done in (
        run(tmp_path, "--debug", "worker", TASKLOOM_DEFINITIONS="myapp"),
        run(tmp_path, "worker", TASKLOOM_DEFINITIONS="myapp", TASKLOOM_DEBUG="1"),
    ):
        assert done.returncode != 0
        assert "Traceback" in done.stderr or "─ Traceback" in done.stderr
        assert "ModuleNotFoundError" in done.stderr and "myapp" in done.stderr
    assert "--debug" in run(tmp_path, "--help").stdout


@pytest.mark.postgres
def test_a_missing_postgresql_database_is_one_line(tmp_path: Path, pg_cluster: PgCluster) -> None:
    url = pg_cluster.url("no_such_database")
    line = one_line_error(run(tmp_path, "migrate", TASKLOOM_DATABASE_URL=url))
    assert 'database "no_such_database" does not exist' in line
    assert "check TASKLOOM_DATABASE_URL" in line


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_a_taken_port_is_one_line(tmp_path: Path, taken_port: int) -> None:
    for done in (
        run(tmp_path, "serve", "--port", str(taken_port), TASKLOOM_AUTH="disabled"),
        run(tmp_path, "serve", TASKLOOM_PORT=str(taken_port), TASKLOOM_AUTH="disabled"),
    ):
        one_line_error(done, f"port {taken_port} on 127.0.0.1 is already in use", "--port")


def test_serve_listens_where_taskloom_host_and_port_say(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKLOOM_")}
    env |= {
        "TASKLOOM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 't.db'}",
        "TASKLOOM_HOST": "127.0.0.1",
        "TASKLOOM_PORT": str(port),
        "TASKLOOM_AUTH": "disabled",
    }
    with subprocess.Popen(
        [*taskloom_command(), "serve"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            for line in process.stdout:
                if line.startswith("Taskloom on "):
                    assert line.strip().startswith(f"Taskloom on http://127.0.0.1:{port}/")
                    break
            else:
                pytest.fail("serve exited before announcing its address")
            answer = httpx.post(
                f"http://127.0.0.1:{port}/graphql", json={"query": "{ __typename }"}, timeout=30
            )
        finally:
            process.terminate()
        assert answer.json() == {"data": {"__typename": "Query"}}
