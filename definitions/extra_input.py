"""Unknown top-level input fields: a typo (`{"strat": 3}`) is an error of
its own field, not silently dropped as pydantic's default (`extra="ignore"`)
would. A definition opts out with `accepts_extra_input = True`; an input
model that says `extra="allow"` (or `"forbid"`, which pydantic enforces
itself) is taken at its word."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from weakref import WeakKeyDictionary

from pydantic import AliasChoices, BaseModel

_NAMES: WeakKeyDictionary[type[BaseModel], frozenset[str] | None] = WeakKeyDictionary()


def accepted_names(model: type[BaseModel]) -> frozenset[str] | None:
    """The top-level keys `model` takes (names and aliases), or None when it
    decides about unknown keys itself."""
    if model in _NAMES:
        return _NAMES[model]
    names: frozenset[str] | None = None
    if model.model_config.get("extra") not in ("allow", "forbid"):
        found: set[str] = set()
        for name, field in model.model_fields.items():
            found.add(name)
            for alias in (field.alias, field.validation_alias):
                if isinstance(alias, str):
                    found.add(alias)
                elif isinstance(alias, AliasChoices):
                    found.update(c for c in alias.choices if isinstance(c, str))
        names = frozenset(found)
    _NAMES[model] = names
    return names


def unknown_field_errors(model: type[BaseModel], raw: Any) -> list[dict[str, Any]]:
    """A field error for each key of `raw` that `model` does not take."""
    if not isinstance(raw, Mapping):
        return []
    names = accepted_names(model)
    if names is None:
        return []
    unknown = [key for key in raw if key not in names]
    if not unknown:
        return []
    accepts = ", ".join(sorted(model.model_fields)) or "no fields"
    return [
        {
            "loc": [str(key)],
            "message": f"unknown field; the input accepts: {accepts}",
            "type": "extra_forbidden",
        }
        for key in unknown
    ]
