"""DataLoaders: parent, children, dependencies, dependents and logs of many
runs in one query each,
so a page of runs with their relations costs a constant number of queries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from taskloom.definitions.records import WaitReason
from taskloom.definitions.run_view import RunView
from taskloom.definitions.service_api import TaskServiceAPI
from taskloom.definitions.views import LogView, Page

K = TypeVar("K", bound=tuple[Any, ...])
V = TypeVar("V")
Levels = tuple[str, ...]


async def _grouped(
    keys: list[K], load: Callable[[list[str], Any], Awaitable[Sequence[V]]]
) -> list[V]:
    """Loads keys `(run_id, *options)` with one call per distinct options."""
    found: dict[Hashable, V] = {}
    for options in dict.fromkeys(key[1:] for key in keys):
        ids = [key[0] for key in keys if key[1:] == options]
        for run_id, value in zip(ids, await load(ids, options), strict=True):
            found[(run_id, *options)] = value
    return [found[key] for key in keys]


class Loaders:
    def __init__(self, service: TaskServiceAPI, *, cache: bool = True) -> None:
        self.service = service
        self.run: DataLoader[str, RunView | None] = DataLoader(load_fn=self._runs, cache=cache)
        self.children: DataLoader[tuple[str, int | None], Page[RunView]] = DataLoader(
            load_fn=self._children, cache=cache
        )
        self.child_count: DataLoader[str, int] = DataLoader(load_fn=self._child_counts, cache=cache)
        self.logs: DataLoader[tuple[str, int | None, Levels], Page[LogView]] = DataLoader(
            load_fn=self._logs, cache=cache
        )
        self.log_count: DataLoader[tuple[str, Levels], int] = DataLoader(
            load_fn=self._log_counts, cache=cache
        )
        self.waiting_reason: DataLoader[str, WaitReason | None] = DataLoader(
            load_fn=self._waiting_reasons, cache=cache
        )
        self.dependencies: DataLoader[str, list[RunView]] = DataLoader(
            load_fn=service.dependencies_of, cache=cache
        )
        self.dependents: DataLoader[tuple[str, int | None], Page[RunView]] = DataLoader(
            load_fn=self._dependents, cache=cache
        )
        self.dependent_count: DataLoader[str, int] = DataLoader(
            load_fn=service.count_dependents, cache=cache
        )

    async def _waiting_reasons(self, ids: list[str]) -> list[WaitReason | None]:
        return await self.service.waiting_reasons(ids)

    async def _runs(self, ids: list[str]) -> list[RunView | None]:
        return await self.service.get_many(ids)

    async def _child_counts(self, ids: list[str]) -> list[int]:
        return await self.service.count_children(ids)

    async def _children(self, keys: list[tuple[str, int | None]]) -> list[Page[RunView]]:
        async def load(ids: list[str], options: tuple[int | None]) -> list[Page[RunView]]:
            return await self.service.children_pages(ids, options[0])

        return await _grouped(keys, load)

    async def _dependents(self, keys: list[tuple[str, int | None]]) -> list[Page[RunView]]:
        async def load(ids: list[str], options: tuple[int | None]) -> list[Page[RunView]]:
            return await self.service.dependents_pages(ids, options[0])

        return await _grouped(keys, load)

    async def _logs(self, keys: list[tuple[str, int | None, Levels]]) -> list[Page[LogView]]:
        async def load(ids: list[str], options: tuple[int | None, Levels]) -> list[Page[LogView]]:
            return await self.service.logs_pages(ids, options[0], options[1])

        return await _grouped(keys, load)

    async def _log_counts(self, keys: list[tuple[str, Levels]]) -> list[int]:
        async def load(ids: list[str], options: tuple[Levels]) -> list[int]:
            return await self.service.count_logs_of(ids, options[0])

        return await _grouped(keys, load)
