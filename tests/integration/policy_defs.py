"""Definitions for the two-process policy test, loaded by `taskloom worker`
subprocesses through TASKLOOM_DEFINITIONS."""

from __future__ import annotations

from typing import Any

from taskloom.definitions import TaskController, TaskDefinition, register

RATE = 10  # starts per second


@register
class TenPerSecond(TaskDefinition[Any]):
    id = "policy-ten-per-second"
    rate_limit = f"{RATE}/s"

    async def run(self, controller: TaskController[Any]) -> Any:
        return "ran"


@register
class Switchable(TaskDefinition[Any]):
    id = "policy-switchable"

    async def run(self, controller: TaskController[Any]) -> Any:
        return "ran"
