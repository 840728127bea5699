"""The SQLite writer thread (server/store/sqlite/writer_thread.py) never
leaves a caller waiting for good: a write that arrives while it stops, or
after it ended, fails at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text

from taskloom.server.store.group_commit import FnOp
from taskloom.server.store.sqlite.checkpoints import WalKeeper
from taskloom.server.store.sqlite.writer_thread import WriterThread


def _one(conn: Connection) -> int:
    return int(conn.execute(text("SELECT 1")).scalar_one())


@pytest.fixture
async def writer(tmp_path: Path) -> AsyncIterator[WriterThread]:
    engine = create_engine(f"sqlite:///{tmp_path / 'writer.db'}")
    thread = WriterThread(engine, WalKeeper(None, 5000))
    thread.start()
    try:
        yield thread
    finally:
        await thread.stop()
        engine.dispose()


async def test_a_write_that_arrives_as_the_writer_stops_fails_at_once(
    writer: WriterThread,
) -> None:
    assert await writer.write(FnOp(_one)) == 1
    stopping = asyncio.ensure_future(writer.stop())
    await asyncio.sleep(0)  # stop() has told the thread to end, and waits for it
    # Queued behind the thread's end, it used to wait for good.
    with pytest.raises(RuntimeError, match="the database is closed"):
        await asyncio.wait_for(writer.write(FnOp(_one)), 10)
    await stopping


async def test_a_writer_started_again_takes_writes_again(writer: WriterThread) -> None:
    await writer.stop()
    with pytest.raises(RuntimeError, match="not started"):
        await writer.write(FnOp(_one))
    writer.start()
    assert await writer.write(FnOp(_one)) == 1
