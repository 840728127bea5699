"""The README's client program runs as written, embedded (no TASKLOOM_URL)
and against a real server (uvicorn on loopback, a `user` token), and
prints the same lines both ways."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from taskloom.definitions.examples import Countdown
from tests.integration.security_support import serve
from tests.support.readme import program, reader_environment

RUN_SECONDS = 90


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """Two folders with the program saved as backend.py: embedded, remote."""
    made = (tmp_path / "embedded", tmp_path / "remote")
    for folder in made:
        folder.mkdir()
        (folder / "backend.py").write_text(program("client-example"))
    return made


async def run_backend(folder: Path, **env: str) -> list[str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "backend.py",
        cwd=folder,
        env=reader_environment(**env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), RUN_SECONDS)
    assert process.returncode == 0, err.decode()
    return out.decode().splitlines()


def check(lines: list[str]) -> None:
    watched = [line for line in lines if line.startswith("watch:")]
    assert watched[-1] == "watch: SUCCEEDED 3 of 3 steps"
    assert lines[-2:] == ["batch: [{'counted': 1}, {'counted': 2}]", "refused: [(1, ['start'])]"]


async def test_the_client_program_runs_embedded_and_remote(
    tmp_path: Path, folders: tuple[Path, Path]
) -> None:
    embedded, remote_folder = folders
    check(await run_backend(embedded))
    database = f"sqlite+aiosqlite:///{tmp_path / 'server.db'}"
    async with serve(database, (Countdown,)) as server:
        remote = await run_backend(
            remote_folder, TASKLOOM_URL=server.url, TASKLOOM_TOKEN=server.tokens["alice"]
        )
    check(remote)
