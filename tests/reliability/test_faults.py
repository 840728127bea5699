"""Faults a real worker process and the commands meet: a lone surrogate in
what an iteration writes (the run succeeds with it replaced, at once, not
after three lease expiries), and a read-only database (one line naming the
file and the cause, exit status 2)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskloom.definitions import LogLevel, TaskStatus
from taskloom.definitions.registry import Registry
from taskloom.server.taskloom import Taskloom
from tests.reliability.defs import Surrogate
from tests.reliability.harness import ROOT, Proc

NOBODY = 65534


@pytest.mark.timeout(120)
async def test_a_lone_surrogate_in_a_worker_process(database_url: str, tmp_path: Path) -> None:
    api = Taskloom(
        database_url, registry=Registry([Surrogate]), worker=False, load_entry_points=False
    )
    await api.start()
    worker = Proc(["worker"], database_url, tmp_path, tmp_path / "ledger.jsonl")
    try:
        worker.start().wait_ready("running")
        run = await api.service.trigger(Surrogate.id)
        done = await api.service.wait(run.id, timeout=30)
        assert done.status is TaskStatus.SUCCEEDED, done.error
        assert done.output == {"file": "report-\ufffd.csv"}
        lines = (await api.service.logs(run.id)).items
        assert [line.level for line in lines] == [LogLevel.INFO, LogLevel.WARNING]
    finally:
        worker.stop()
        await api.stop()


async def _create(url: str) -> None:
    api = Taskloom(url, registry=Registry([Surrogate]), worker=False, load_entry_points=False)
    await api.start()
    await api.stop()


def _as_another_user() -> list[str]:
    """Root writes any file: the commands then run as `nobody`."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv to drop privileges")
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


@contextlib.contextmanager
def _reachable_by_others(*paths: Path) -> Iterator[None]:
    """`nobody` must reach the checkout, its .venv and the interpreter: a
    clone in a folder only its owner may enter (`mktemp -d`) gets o+x on
    that folder while the command runs."""
    changed: list[tuple[Path, int]] = []
    for path in paths:
        for folder in [path, *path.parents]:
            mode = folder.stat().st_mode
            if folder.is_dir() and not mode & stat.S_IXOTH:
                folder.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
                changed.append((folder, stat.S_IMODE(mode)))
    try:
        yield
    finally:
        for folder, mode in reversed(changed):
            folder.chmod(mode)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("what", ["file", "directory"])
def test_a_read_only_database_is_one_line_and_exit_status_2(
    database_url: str, tmp_path: Path, what: str
) -> None:
    # Outside pytest's folder, which only its owner may enter.
    folder = Path(tempfile.mkdtemp(prefix="taskloom-ro-"))
    folder.chmod(0o755)
    path = folder / "taskloom.db"
    url = f"sqlite+aiosqlite:///{path}"
    asyncio.run(_create(url))
    prefix = _as_another_user()
    owner = NOBODY if prefix else os.getuid()
    os.chown(folder, owner, -1)
    os.chown(path, owner, -1)
    for leftover in folder.glob("taskloom.db-*"):
        leftover.unlink()
    if what == "file":
        path.chmod(0o444)
    else:
        folder.chmod(0o555)
    env = {
        **os.environ,
        "TASKLOOM_DATABASE_URL": url,
        "TASKLOOM_DEFINITIONS": "tests.reliability.defs",
        "TASKLOOM_LOAD_ENTRY_POINTS": "false",
        "PYTHONPATH": str(ROOT),
        "HOME": str(folder),
    }
    command = [*prefix, sys.executable, "-m", "taskloom", "trigger", Surrogate.id]
    reach = [ROOT, Path(sys.executable).resolve()] if prefix else []
    with _reachable_by_others(*reach):
        done = subprocess.run(
            command,
            env=env,
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    folder.chmod(0o755)
    shutil.rmtree(folder, ignore_errors=True)
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: cannot ")
    assert str(path) in line
    expected = "the file is read-only" if what == "file" else "no write permission on the directory"
    assert expected in line
