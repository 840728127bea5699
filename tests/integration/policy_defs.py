"""Definitions for the two-process policy test, loaded by `taskloom worker`
subprocesses through TASKLOOM_DEFINITIONS."""

from __future__ import annotations

import asyncio
from typing import Any

from taskloom.definitions import TaskController, TaskDefinition, register

RATE = 10  # starts per second
HOLD = 0.5  # seconds each TenPerSecond run takes


@register
class TenPerSecond(TaskDefinition[Any]):
    id = "policy-ten-per-second"
    rate_limit = f"{RATE}/s"

    async def run(self, controller: TaskController[Any]) -> Any:
        await asyncio.sleep(HOLD)
        return "ran"


@register
class Switchable(TaskDefinition[Any]):
    id = "policy-switchable"

    async def run(self, controller: TaskController[Any]) -> Any:
        return "ran"
