"""Definitions for the flows test across worker processes, loaded by
`taskloom worker` subprocesses through TASKLOOM_DEFINITIONS."""

from __future__ import annotations

import os
from typing import Any

from taskloom.definitions import TaskController, TaskDefinition, register

CHILDREN = 20


@register
class Leaf(TaskDefinition[Any]):
    """Two iterations, so that children end at different times on
    different workers."""

    id = "mpf-leaf"

    async def run(self, controller: TaskController[Any]) -> Any:
        if not controller.state.get("once"):
            return controller.response.continue_(state={"once": True})
        return {"pid": os.getpid()}


@register
class FanIn(TaskDefinition[Any]):
    """Fans out CHILDREN leaves, waits, and on waking checks that every
    child has ended: an early wake answers an error."""

    id = "mpf-fan-in"

    async def run(self, controller: TaskController[Any]) -> Any:
        if controller.state.get("waited"):
            children = await controller.children()
            unfinished = [c.id for c in children if not c.has_ended]
            if unfinished or len(children) != CHILDREN:
                return controller.response.error(f"woke early: {unfinished}", "EARLY")
            return {"children": len(children), "pids": sorted({c.output["pid"] for c in children})}
        for n in range(CHILDREN):
            controller.trigger(Leaf, {"n": n})
        return controller.response.wait_for_children(state={"waited": True})


@register
class Link(TaskDefinition[Any]):
    """A link of a dependency chain; fails when asked to."""

    id = "mpf-link"

    async def run(self, controller: TaskController[Any]) -> Any:
        if controller.input.model_dump().get("fail"):
            return controller.response.error("broken link", "BROKEN")
        return os.getpid()
