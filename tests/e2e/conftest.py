"""A real `taskloom serve` process for end-to-end tests.

`start_server(**env)` (fixture `start_server`) launches `taskloom serve` on a
free loopback port with a fresh SQLite file and the example definitions,
waits for /healthz and stops the process (SIGTERM, then SIGKILL) when the
test ends. `taskloom_server` is one such server with authentication on; its
`headers` carry the admin token `serve` printed on first start. Reuse
`server.env` to run other `taskloom` commands against the same database.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

STARTUP_SECONDS = 30.0
STOP_SECONDS = 15.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def taskloom_command() -> list[str]:
    """The installed console script next to this interpreter, else the module."""
    script = Path(sys.executable).parent / "taskloom"
    return [str(script)] if script.exists() else [sys.executable, "-m", "taskloom.server.cli"]


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    port: int
    env: dict[str, str]
    workdir: Path
    output: list[str] = field(default_factory=list)
    token: str | None = None
    pump: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/graphql"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    @property
    def database_url(self) -> str:
        return self.env["TASKLOOM_DATABASE_URL"]

    @property
    def headers(self) -> dict[str, str]:
        """What an HTTP client sends (the admin token when auth is on)."""
        return {} if self.token is None else {"Authorization": f"Bearer {self.token}"}

    def log(self) -> str:
        return "".join(self.output)

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Runs another `taskloom` command against this server's database."""
        return subprocess.run(
            [*taskloom_command(), *args],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_SECONDS)
        if self.pump is not None:
            self.pump.join(STOP_SECONDS)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _pump(server: ServerProcess) -> None:
    assert server.process.stdout is not None
    for line in server.process.stdout:
        server.output.append(line)


def _wait_healthy(server: ServerProcess) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"taskloom serve exited early:\n{server.log()}")
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # polling the real process's startup, bounded by the deadline
    raise RuntimeError(f"taskloom serve not healthy in {STARTUP_SECONDS}s:\n{server.log()}")


def _token(output: str) -> str | None:
    match = re.search(r'"Bearer ([^"\s]+)"', output)
    return None if match is None else match.group(1)


ServerFactory = Callable[..., ServerProcess]


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[ServerFactory]:
    started: list[ServerProcess] = []

    def start(**env: str) -> ServerProcess:
        workdir = tmp_path / f"server{len(started)}"
        workdir.mkdir()
        port = free_port()
        full_env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "TASKLOOM_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'taskloom.db'}",
            "TASKLOOM_DEFINITIONS": "taskloom.definitions.examples",
            "TASKLOOM_POLL_INTERVAL": "0.2",
            "TASKLOOM_SHUTDOWN_GRACE": "2",
            **env,
        }
        process = subprocess.Popen(
            [*taskloom_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=full_env,
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        server = ServerProcess(process, port, full_env, workdir)
        started.append(server)
        server.pump = threading.Thread(target=_pump, args=(server,), daemon=True)
        server.pump.start()
        _wait_healthy(server)
        server.token = _token(server.log())
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def taskloom_server(start_server: ServerFactory) -> ServerProcess:
    """`taskloom serve` with authentication on, as `make serve` runs it."""
    server = start_server()
    assert server.token is not None, f"no admin token printed:\n{server.log()}"
    return server
