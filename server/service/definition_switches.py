"""Pausing and resuming a whole definition, and why a due run waits.

A paused definition's runs are not claimed by any worker (the claims'
condition, store/definition_pauses.py) until it is resumed; runs already
RUNNING finish their iteration and, if they go on, wait PENDING. Admins,
developers and backend code may switch it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from taskloom.definitions.records import WaitReason
from taskloom.server.auth.identity import Actor, require_operator
from taskloom.server.store.definition_pauses import PauseDefinition, ResumeDefinition, paused_ids
from taskloom.server.store.holds import hold_reasons

if TYPE_CHECKING:
    from taskloom.definitions.rate_limit import RateLimit
    from taskloom.definitions.registry import Registry
    from taskloom.server.events.hub import EventHub
    from taskloom.server.store.database import Database


class DefinitionSwitches:
    def __init__(self, database: Database, registry: Registry, hub: EventHub) -> None:
        self.database = database
        self.registry = registry
        self.hub = hub

    async def pause(self, definition_id: str, actor: Actor | None) -> bool:
        """Pauses the definition; False when it was paused already."""
        require_operator(actor, "pause a definition")
        self.registry.get(definition_id)  # NotFound for an unknown one
        who = None if actor is None else actor.owner
        return await self.database.run_write(
            PauseDefinition(definition_id, self.database.clock(), who)
        )

    async def resume(self, definition_id: str, actor: Actor | None) -> bool:
        """Resumes the definition; False when it was not paused."""
        require_operator(actor, "resume a definition")
        self.registry.get(definition_id)
        resumed = await self.database.run_write(ResumeDefinition(definition_id))
        self.hub.notify_due()  # its due runs may be claimed now
        return resumed

    async def paused(self) -> set[str]:
        return await self.database.read(paused_ids)

    async def waiting_reasons(self, run_ids: Sequence[str]) -> list[WaitReason | None]:
        rates: dict[str, tuple[RateLimit, bool]] = {}
        for definition in self.registry:
            rate = definition.parsed_rate_limit()
            if rate is not None:
                rates[definition.id] = (rate, bool(definition.rate_limit_key))
        now = self.database.clock()
        known = {definition.id for definition in self.registry}
        found = await self.database.read(lambda c: hold_reasons(c, run_ids, rates, now, known))
        return [found.get(run_id) for run_id in run_ids]
