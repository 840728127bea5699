"""How the service shows runs: a stored row as a `RunView`, with what its
definition allows (whether it may be paused)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from taskloom.definitions.run_view import RunView

if TYPE_CHECKING:
    from sqlalchemy.engine import RowMapping

    from taskloom.definitions.registry import Registry


class RunPresenter:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def view(self, row: RowMapping | dict[str, Any], *, deferred: bool = False) -> RunView:
        """A run as clients see it; `deferred` for rows just read, whose
        fields are converted as read."""
        make = RunView.deferred if deferred else RunView.from_row
        definition_id = row["definition_id"]
        return make(
            row, pausable=self.pausable(definition_id), abortable=self.abortable(definition_id)
        )

    def pausable(self, definition_id: str) -> bool:
        """Whether runs of the definition may be paused (an unknown one: yes)."""
        definition = self.registry.find(definition_id)
        return definition is None or bool(getattr(definition, "pausable", True))

    def abortable(self, definition_id: str) -> bool:
        """Whether runs of the definition may be aborted (an unknown one: yes)."""
        definition = self.registry.find(definition_id)
        return definition is None or bool(getattr(definition, "abortable", True))

    def sibling_views(self, rows: Sequence[dict[str, Any]]) -> list[RunView]:
        """The views of rows made by `another_run_row` from `rows[0]`: equal
        but for id and input, so the others are copies of the first view
        with those two fields set as `RunView.from_row` sets them (a test
        holds them to `from_row`)."""
        first = self.view(rows[0])
        views = [first]
        base = getattr(first, "__dict__", None)
        if base is None:  # a view without __dict__ (slots): build each
            return views + [self.view(row) for row in rows[1:]]
        for row in rows[1:]:
            view = object.__new__(RunView)  # frozen: fill its fields directly
            fields = vars(view)
            fields.update(base)
            fields["id"] = row["id"]
            fields["input"] = row["input"] or {}
            views.append(view)
        return views
