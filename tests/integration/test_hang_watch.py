"""A hung test fails with the stacks of its asyncio tasks and the run goes on
(tests/support/hang_watch.py), even when its teardown awaits the same stuck
thing; one that swallows every timeout ends the run. Each case runs pytest
in a process of its own on a small suite, with a 2 s timeout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

INI = """[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
timeout = 2
"""

TEARDOWN_HANGS_TOO = """
import asyncio

import pytest


@pytest.fixture
async def stuck_teardown():
    yield
    await asyncio.Event().wait()  # as a Taskloom's stop awaiting what the test did


async def test_hangs(stuck_teardown):
    await asyncio.Event().wait()


def test_after():
    pass
"""

SWALLOWS_EVERY_TIMEOUT = """
import time


def test_swallows():
    while True:
        try:
            time.sleep(60)
        except BaseException:
            pass


def test_after():
    pass
"""


def _run_suite(tmp_path: Path, tests: str, strike: float) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pytest.ini").write_text(INI)
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.support.hang_watch"]\n')
    (tmp_path / "test_suite.py").write_text(tests)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HANG_WATCH_STRIKE_SECONDS": str(strike)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_hung_test_whose_teardown_hangs_too_fails_and_the_run_goes_on(tmp_path: Path) -> None:
    # Strikes 5 s apart: the failed teardown is reported and the next test
    # runs before the last strike would end the run.
    result = _run_suite(tmp_path, TEARDOWN_HANGS_TOO, strike=5)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "Timeout, strike 1: asyncio tasks" in out
    assert "in test_hangs" in out  # the test's task, with its stack
    assert "Timeout, strike 2: asyncio tasks" in out
    assert "test_suite.py::test_hangs FAILED" in out
    assert "test_suite.py::test_hangs ERROR" in out  # its teardown, struck again
    assert "test_suite.py::test_after PASSED" in out


def test_a_test_that_swallows_every_timeout_ends_the_run_with_its_stacks(tmp_path: Path) -> None:
    result = _run_suite(tmp_path, SWALLOWS_EVERY_TIMEOUT, strike=1)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "Timeout, last strike: asyncio tasks; the run ends" in out
    assert "in test_swallows" in out  # the main thread's stack
    assert "test_after" not in out.split("Timeout, last strike")[1]
