"""Where definitions are found: `register`, modules and entry points."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, TypeVar

from taskloom.definitions.errors import ConfigurationError, NotFound

if TYPE_CHECKING:
    from taskloom.definitions.definition import TaskDefinition

ENTRY_POINT_GROUP = "taskloom.definitions"
D = TypeVar("D", bound=type)


class Registry:
    """Definitions by id. The process-wide one is `registry`."""

    def __init__(self, definitions: Iterable[type[TaskDefinition[Any]]] = ()) -> None:
        self._by_id: dict[str, type[TaskDefinition[Any]]] = {}
        for definition in definitions:
            self.add(definition)

    def add(self, definition: type[TaskDefinition[Any]]) -> None:
        ident = getattr(definition, "id", None)
        if not isinstance(ident, str) or not ident:
            raise TypeError(f"{definition.__name__} needs a non-empty string `id`")
        known = self._by_id.get(ident)
        if known is not None and known.__qualname__ != definition.__qualname__:
            raise ValueError(f"definition id {ident!r} is used by two classes")
        self._by_id[ident] = definition

    def get(self, ident: str) -> type[TaskDefinition[Any]]:
        try:
            return self._by_id[ident]
        except KeyError:
            raise NotFound(self.unknown(ident)) from None

    def unknown(self, ident: str) -> str:
        """What to say of an id no definition has: the closest ids, or the
        known ones (the first ten)."""
        known = sorted(self._by_id)
        close = difflib.get_close_matches(ident, known, n=3, cutoff=0.6)
        if close:
            return f"no task definition with id {ident!r}; did you mean {_either(close)}?"
        if not known:
            return f"no task definition with id {ident!r}: none are registered"
        more = f" and {len(known) - 10} more" if len(known) > 10 else ""
        return f"no task definition with id {ident!r}; known ids: {', '.join(known[:10])}{more}"

    def resolve(self, ref: Any) -> type[TaskDefinition[Any]]:
        """A definition from its id or its class."""
        if isinstance(ref, str):
            return self.get(ref)
        ident = getattr(ref, "id", None)
        if isinstance(ident, str):
            return self.get(ident)
        raise NotFound(f"not a task definition: {ref!r}")

    def find(self, ident: str) -> type[TaskDefinition[Any]] | None:
        """The definition with this id, or None."""
        return self._by_id.get(ident)

    def __contains__(self, ident: object) -> bool:
        return ident in self._by_id

    def __iter__(self) -> Iterator[type[TaskDefinition[Any]]]:
        return iter(sorted(self._by_id.values(), key=lambda d: d.id))

    def __len__(self) -> int:
        return len(self._by_id)


registry = Registry()


def register(definition: D) -> D:
    """Class decorator: adds a definition to the process-wide registry."""
    registry.add(definition)
    return definition


def load_modules(modules: Iterable[str]) -> None:
    """Imports modules so their `register` calls run. A module that cannot
    be imported is a ConfigurationError naming it (its own errors, other
    than a failed import, surface as they are)."""
    for name in (m.strip() for m in modules):
        if not name:
            continue
        try:
            importlib.import_module(name)
        except ImportError as exc:
            missing = exc.name or ""
            if missing and (name == missing or name.startswith(missing + ".")):
                problem = f"cannot import definitions module {name!r}: {exc}"
                fix = (
                    "set TASKLOOM_DEFINITIONS to modules importable from here, comma-separated "
                    "(run from the folder that holds them, or add it to PYTHONPATH)"
                )
            else:
                problem = f"definitions module {name!r} failed to import: {exc}"
                fix = "install what it imports, or leave it out of TASKLOOM_DEFINITIONS"
            raise ConfigurationError(problem, fix) from exc


def load_entry_points() -> None:
    for point in entry_points(group=ENTRY_POINT_GROUP):
        point.load()


def _either(ids: list[str]) -> str:
    quoted = [repr(i) for i in ids]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
