"""The rate-limit benchmark's definition, loaded by its `taskloom worker`
processes (TASKLOOM_DEFINITIONS=bench.rate_limited); the limit comes from
BENCH_RATE_LIMIT ("200/s" by default, as bench/rate_limit.py sets it)."""

from __future__ import annotations

import os
from typing import Any

from taskloom.definitions import TaskController, TaskDefinition, register

LIMIT = os.environ.get("BENCH_RATE_LIMIT", "200/s")


@register
class RateLimitedNoop(TaskDefinition[Any]):
    id = "bench-rate-limited"
    rate_limit = LIMIT

    async def run(self, controller: TaskController[Any]) -> Any:
        return None
