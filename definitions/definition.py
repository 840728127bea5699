"""`TaskDefinition`: the class task authors subclass."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable
from typing import Any, ClassVar, Generic, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError

from taskloom.definitions.controller import TaskController
from taskloom.definitions.errors import InvalidInput
from taskloom.definitions.extra_input import unknown_field_errors
from taskloom.definitions.rate_limit import RateLimit
from taskloom.definitions.records import RunError, RunInfo
from taskloom.definitions.responses import Response
from taskloom.definitions.retry import NO_RETRY, Retry

InputT = TypeVar("InputT", bound=BaseModel)

# Per input model: whether `parse_input(None).model_dump(mode="json")` is
# known to be `{}` without running pydantic (see `TaskDefinition.empty_input`).
_EMPTY_INPUT: dict[type[BaseModel], bool] = {}


class AnyInput(BaseModel):
    """The input model of a definition that declares none: any JSON object."""

    model_config = ConfigDict(extra="allow")


class TaskDefinition(Generic[InputT]):
    """Subclass with `id`, `title` and `run()`; everything else has a default.

    Hooks may be sync or async. `on_before_trigger` may return a changed input
    or raise `InvalidInput` to refuse the trigger.
    """

    id: ClassVar[str]
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    input_model: ClassVar[type[BaseModel]] = AnyInput
    # True: input keys the model does not declare are dropped, not refused
    # (definitions/extra_input.py).
    accepts_extra_input: ClassVar[bool] = False
    max_iterations: ClassVar[int] = 1_000
    iteration_timeout: ClassVar[float] = 300.0
    # Deadlines (see README "Deadlines and expiry"), in seconds; a trigger may
    # set its own. `deadline`: the run fails (DEADLINE) this long after its
    # first start, across iterations and retries. `expires`: a run not
    # started this long after it was due ends without running (EXPIRED).
    deadline: ClassVar[float | None] = None
    expires: ClassVar[float | None] = None
    retry: ClassVar[Retry] = NO_RETRY
    lease_losses: ClassVar[int] = 3
    # Roles that may trigger this definition ("admin", "developer", "user");
    # None: any authenticated caller. Admins and backend code always may.
    roles: ClassVar[frozenset[str] | set[str] | None] = None
    # Run control (see README "Pause, resume and abort").
    pausable: ClassVar[bool] = True
    pause_mode: ClassVar[Literal["poll", "cancel"]] = "poll"
    # False: runs may not be aborted (canAbort false, abort refused: CONFLICT).
    abortable: ClassVar[bool] = True
    abort_mode: ClassVar[Literal["poll", "cancel"]] = "poll"
    # Result history: 0 keeps every attempt, -1 keeps none.
    max_results: ClassVar[int] = 10
    # Concurrency limits: running runs of this definition (None: no cap), and
    # running runs per `concurrency_key(input)` (N = 1 is a mutex).
    concurrency: ClassVar[int | None] = None
    concurrency_per_key: ClassVar[int | None] = None
    # At most N run starts per period across all workers, "100/m" (see README
    # "Rate limits"); `rate_limit_key = True` holds it per `concurrency_key`.
    rate_limit: ClassVar[str | None] = None
    rate_limit_key: ClassVar[bool] = False
    # Standard `logging` records at or above this level, emitted during an
    # iteration, are captured into the run's logs (None: no capture).
    log_capture_level: ClassVar[str | None] = "WARNING"
    # A cron expression ("*/5 * * * *"): the engine triggers one run per tick
    # with `schedule_input`, in `schedule_timezone` (see README "Schedules").
    schedule: ClassVar[str | None] = None
    schedule_timezone: ClassVar[str] = "UTC"
    schedule_input: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            if get_origin(base) is TaskDefinition:
                (model,) = get_args(base)
                if isinstance(model, type) and issubclass(model, BaseModel):
                    cls.input_model = model
        if "title" not in cls.__dict__ and "id" in cls.__dict__:
            cls.title = cls.id
        if cls.rate_limit is not None:
            RateLimit.parse(cls.rate_limit)  # a wrong spec fails at import

    @classmethod
    def parsed_rate_limit(cls) -> RateLimit | None:
        return None if cls.rate_limit is None else RateLimit.parse(cls.rate_limit)

    @classmethod
    def is_async(cls) -> bool:
        return inspect.iscoroutinefunction(cls.run)

    @classmethod
    def parse_input(cls, raw: Any) -> BaseModel:
        """Validates raw input into the input model, or raises InvalidInput."""
        if isinstance(raw, cls.input_model):
            return raw
        if isinstance(raw, BaseModel):
            raw = raw.model_dump(mode="json")
        errors = [] if cls.accepts_extra_input else unknown_field_errors(cls.input_model, raw)
        try:
            parsed = cls.input_model.model_validate({} if raw is None else raw)
        except ValidationError as exc:
            errors += [
                {"loc": [str(p) for p in e["loc"]], "message": e["msg"], "type": e["type"]}
                for e in exc.errors()
            ]
        if errors:
            raise InvalidInput(f"invalid input for {cls.id!r}", errors=errors) from None
        return parsed

    @classmethod
    def empty_input(cls) -> dict[str, Any] | None:
        """A fresh `{}` when that is what `parse_input(None).model_dump(mode=
        "json")` gives without a doubt: the input model declares no fields,
        validators, serializers or post-init hook and overrides neither
        validation nor dumping. None otherwise (then validate as usual)."""
        model = cls.input_model
        known = _EMPTY_INPUT.get(model)
        if known is None:
            known = _EMPTY_INPUT[model] = _plain_empty(model)
        return {} if known else None

    @classmethod
    def input_schema(cls) -> dict[str, Any]:
        return cls.input_model.model_json_schema()

    # --- what authors write -------------------------------------------------

    def run(self, controller: TaskController[InputT]) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.run() is not written")

    def validate_input(self, input: InputT) -> None:
        """Extra checks beyond the model; raise ValueError or InvalidInput."""

    def on_before_trigger(self, input: InputT) -> InputT | Awaitable[InputT | None] | None:
        return None

    def on_done(self, run: RunInfo) -> Any:
        return None

    def on_error(self, run: RunInfo) -> Any:
        return None

    def on_abort(self, run: RunInfo) -> Any:
        return None

    def on_max_iterations(self, run: RunInfo) -> Any:
        return None

    def on_retry(
        self, input: InputT, error: RunError | None
    ) -> InputT | dict[str, Any] | Literal[False] | None:
        """Called before every retry, automatic or manual; may return a changed
        input (a model or a dict) for the next attempt, None to keep it, or
        False to refuse the retry: an automatic retry then FAILS the run with
        its error, a retry by request is refused (CONFLICT)."""
        return None

    def concurrency_key(self, input: InputT) -> str | None:
        """The key `concurrency_per_key` counts runs by (None: not limited)."""
        return None


def _plain_empty(model: type[BaseModel]) -> bool:
    decorators = model.__pydantic_decorators__
    return (
        not model.model_fields
        and not model.model_computed_fields
        and not any(getattr(decorators, f.name) for f in dataclasses.fields(decorators))
        and model.__pydantic_post_init__ is None
        and not getattr(model, "__pydantic_root_model__", False)
        and not any(
            name in vars(klass)
            for klass in model.__mro__[: model.__mro__.index(BaseModel)]
            for name in ("model_validate", "model_dump", "__init__")
        )
        and model.__pydantic_complete__
    )


DefinitionRef = type[TaskDefinition[Any]] | str
IterationResult = Response | Any
