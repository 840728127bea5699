"""The README's GraphQL examples work as pasted: each block is valid against
the schema, and each runs without errors against the example definitions
(with a real run id where the README says PASTE-RUN-ID)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from graphql import build_schema, parse, validate

from taskloom.definitions.examples import Countdown
from taskloom.schema import sdl
from tests.integration.graphql_support import data, served

README = Path(__file__).resolve().parents[2] / "README.md"


def examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## GraphQL\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```graphql\n(.*?)```", section, re.DOTALL)


def test_every_example_is_valid_against_the_schema() -> None:
    blocks, contract = examples(), build_schema(sdl())
    assert len(blocks) >= 8
    for block in blocks:
        assert validate(contract, parse(block)) == [], block


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'readme.db'}"


async def test_queries_and_mutations_run_as_pasted(database_url: str) -> None:
    operations = [b for b in examples() if not b.lstrip().startswith("subscription")]
    async with served(database_url, worker=False, definitions=(Countdown,)) as (_, client):
        run_id: str | None = None
        for block in operations:
            if "PASTE-RUN-ID" in block:
                assert run_id is not None
                block = block.replace("PASTE-RUN-ID", run_id)
            answer: dict[str, Any] = await data(client, block)
            if "triggerTask" in answer:
                run_id = answer["triggerTask"]["id"]
        assert run_id is not None
