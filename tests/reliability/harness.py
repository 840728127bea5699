"""Taskloom processes for the reliability tests and the soak: `taskloom
worker` or `taskloom serve` subprocesses on one database, loading
tests/reliability/defs.py, which write the ledger."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class Proc:
    def __init__(self, args: list[str], url: str, folder: Path, ledger: Path, **env: str) -> None:
        self.args = args
        self.folder = folder
        self.env = {
            **os.environ,
            "TASKLOOM_DATABASE_URL": url,
            "TASKLOOM_DEFINITIONS": "tests.reliability.defs",
            "TASKLOOM_LOAD_ENTRY_POINTS": "false",
            "TASKLOOM_POLL_INTERVAL": "0.5",
            "TASKLOOM_AUTH": "disabled",
            "TASKLOOM_RELIABILITY_LEDGER": str(ledger),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0
        self.offset = 0
        self.pids: list[int] = []

    @property
    def log(self) -> Path:
        return self.folder / f"{self.args[0]}-{id(self)}.log"

    def start(self) -> Proc:
        # What this start writes comes after what earlier starts wrote.
        self.offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "taskloom", *self.args],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.started += 1
        self.pids.append(self.process.pid)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def latest_output(self) -> str:
        """The output of the latest start."""
        return self.output()[self.offset :]

    def wait_ready(self, marker: str, timeout: float = 60) -> None:
        """Until the latest start wrote `marker` (or the process exited)."""
        ready = lambda: marker in self.latest_output() or self.exited()  # noqa: E731
        wait_until(ready, timeout, f"{marker!r}")
        if self.exited():
            raise AssertionError(f"{self.args} exited:\n{self.output()[-3000:]}")

    def exited(self) -> bool:
        return self.process is None or self.process.poll() is not None

    def kill9(self) -> int:
        pid = self.pid
        os.kill(pid, signal.SIGKILL)
        assert self.process is not None
        self.process.wait()
        return pid

    def term(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_until(check: Callable[[], bool], timeout: float, what: str, poll: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(poll)
