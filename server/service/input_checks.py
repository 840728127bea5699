"""What an input and the options of a trigger must be, checked before any
run is written: size, delay or time, name, priority, idempotency key, and
the definition's own input model, `validate_input` and `on_before_trigger`.

A refusal is `InvalidInput` (GraphQL: BAD_USER_INPUT)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from taskloom.definitions.definition import TaskDefinition
from taskloom.definitions.errors import InvalidInput
from taskloom.definitions.filters import MAX_AFTER
from taskloom.definitions.text_limits import NAME_CHARS
from taskloom.server.engine import hooks
from taskloom.server.store.new_runs import TICK_KEY_PREFIX
from taskloom.server.store.storable import storable

if TYPE_CHECKING:
    from taskloom.definitions.registry import Registry

log = logging.getLogger("taskloom.service")
MAX_INPUT_BYTES = 1024 * 1024
# Deeper JSON than this is refused before anything walks it recursively
# (json.dumps, pydantic, the JSON column): Python's recursion limit and
# pydantic's serialisation depth would fail first, as internal errors.
MAX_INPUT_DEPTH = 100
PRIORITY_RANGE = 1_000_000


def invalid_field(field: str, message: str) -> InvalidInput:
    """The error for one refused argument, located at `field`."""
    return InvalidInput(f"{field}: {message}", errors=[{"loc": [field], "message": message}])


def check_length(field: str, text: str | None, limit: int) -> None:
    """Text a caller chose, refused over `limit` characters (task code's own
    text is cut instead, definitions/text_limits.py)."""
    if text is not None and len(text) > limit:
        raise invalid_field(field, f"must be at most {limit} characters (got {len(text)})")


def is_hookless(definition: type[TaskDefinition[Any]]) -> bool:
    """True when preparing an input runs no code of the definition's own: it
    overrides neither `validate_input` nor `on_before_trigger`, nor how an
    instance is made."""
    return (
        definition.validate_input is TaskDefinition.validate_input
        and definition.on_before_trigger is TaskDefinition.on_before_trigger
        and definition.__init__ is TaskDefinition.__init__
        and definition.__new__ is TaskDefinition.__new__
    )


def check_options(
    name: str | None,
    delay: float | None,
    run_at: datetime | None,
    priority: int,
    idempotency_key: str | None,
) -> None:
    if delay is not None and delay < 0:
        raise invalid_field("delay", "must not be negative")
    if delay is not None and run_at is not None:
        raise invalid_field("runAt", "give either a delay or a time, not both")
    check_length("name", name, NAME_CHARS)
    if not -PRIORITY_RANGE <= priority <= PRIORITY_RANGE:
        raise invalid_field("priority", "must be between -1000000 and 1000000")
    if idempotency_key is not None and not 0 < len(idempotency_key) <= 200:
        raise invalid_field("idempotencyKey", "must be 1 to 200 characters")
    if idempotency_key is not None and idempotency_key.startswith(TICK_KEY_PREFIX):
        raise invalid_field(
            "idempotencyKey", f"keys starting with {TICK_KEY_PREFIX!r} are the scheduler's own"
        )


def exceeds_depth(value: Any, limit: int) -> bool:
    """Whether `value` has lists or objects nested more than `limit` deep
    (`{"a": [1]}` is 2 deep); walked without recursion, and only as far as
    the limit."""
    level: list[Any] = [value]
    for _ in range(limit + 1):
        inner: list[Any] = []
        containers = 0
        for item in level:
            if isinstance(item, dict):
                inner.extend(item.values())
            elif isinstance(item, list | tuple):
                inner.extend(item)
            else:
                continue
            containers += 1
        if not containers:
            return False
        level = inner
    return True


def storable_fields(definition_id: str, **fields: Any) -> dict[str, Any]:
    """The trigger's text fields (name, key, input) with every lone UTF-16
    surrogate replaced by U+FFFD (store/storable.py), which is logged."""
    if not any(fields.values()):  # None or empty: nothing to replace
        return fields
    fixed = {name: storable(value) for name, value in fields.items()}
    replaced = [name for name in fields if fixed[name] is not fields[name]]
    if replaced:
        log.warning(
            "a run of %s: lone UTF-16 surrogates replaced by U+FFFD in its %s",
            definition_id,
            " and ".join(replaced),
        )
    return fixed


def check_bounds(deadline: float | None, expires: float | datetime | None) -> None:
    """A trigger's own deadline and expiry (seconds, or a time to expire at)."""
    if deadline is not None and not deadline > 0:
        raise invalid_field("deadline", "must be more than 0 seconds")
    if isinstance(expires, int | float) and not expires > 0:
        raise invalid_field("expires", "must be more than 0 seconds")


def check_after(after: Sequence[str], session: Any, idempotency_key: str | None) -> None:
    """The runs a trigger waits for: ids, a bounded number, and a trigger
    that writes the run itself (not in a caller's session, where its
    dependencies could not be checked in the same transaction)."""
    if isinstance(after, str) or not all(isinstance(run_id, str) for run_id in after):
        raise invalid_field("after", "must be a list of run ids")
    if len(after) > MAX_AFTER:
        raise invalid_field("after", f"at most {MAX_AFTER} runs")
    if session is not None:
        raise invalid_field("after", "cannot be combined with session")
    if idempotency_key is not None:
        raise invalid_field("after", "cannot be combined with idempotencyKey")


class InputChecks:
    """The checks of one service: its registry and its input size limit."""

    def __init__(
        self,
        registry: Registry,
        max_input_bytes: int = MAX_INPUT_BYTES,
        max_input_depth: int = MAX_INPUT_DEPTH,
    ) -> None:
        self.registry = registry
        self.max_input_bytes = max_input_bytes
        self.max_input_depth = max_input_depth

    async def prepare_input(self, ref: Any, raw: Any) -> dict[str, Any]:
        """Validates input and applies the definition's own checks and its
        `on_before_trigger`; returns the input as it will be stored."""
        definition = self.registry.resolve(ref)
        return await self.prepare(definition, raw, is_hookless(definition))

    async def prepare(
        self, definition: type[TaskDefinition[Any]], raw: Any, hookless: bool
    ) -> dict[str, Any]:
        """`prepare_input` of a resolved definition; `hookless`: it has no
        input checks or `on_before_trigger` of its own (`is_hookless`), so no
        input (None) needs no validation when the model is empty."""
        if raw is None and hookless:
            empty = definition.empty_input()
            if empty is not None:
                return empty
        model = definition.parse_input(raw)
        instance = definition()
        try:
            instance.validate_input(model)
            if hooks.overrides(instance, "on_before_trigger"):
                changed = await hooks.call(instance.on_before_trigger, model)
                if changed is not None:
                    model = definition.parse_input(changed)
        except ValueError as exc:
            raise InvalidInput(str(exc), errors=[{"loc": ["input"], "message": str(exc)}]) from None
        return model.model_dump(mode="json")

    def check_size(self, raw: Any) -> None:
        """Refuses an input nested deeper than `max_input_depth` or larger
        than `max_input_bytes` as JSON."""
        if raw is None:
            return
        if exceeds_depth(raw, self.max_input_depth):
            limit = self.max_input_depth
            raise invalid_field("input", f"must be nested at most {limit} levels deep")
        if not isinstance(raw, str | int | float | bool):
            try:
                size = len(json.dumps(raw, default=str).encode())
            except (TypeError, ValueError):
                size = 0
            if size > self.max_input_bytes:
                raise invalid_field(
                    "input", f"must be at most {self.max_input_bytes} bytes of JSON"
                )
