"""The soak at small sizes (tests/reliability/soak.py): three worker
processes, one of them killed with SIGKILL mid-iteration and started again
every 1-2 s; every run finishes, none is lost or stuck, no child is
duplicated, no outcome is saved twice, and every repeated iteration is
explained by a kill."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.soak import Sizes, kill_soak


@pytest.mark.timeout(240)
async def test_workers_killed_mid_iteration_lose_nothing(database_url: str, tmp_path: Path) -> None:
    outcome = await kill_soak(database_url, tmp_path, Sizes(runs=40, kill_seconds=5.0))
    report = outcome.report
    assert report.kills >= 2
    assert report.zeros() == dict.fromkeys(report.zeros(), 0), report.details
    assert report.runs == 80  # 40 runs and their 40 children
