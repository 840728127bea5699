"""`StepsTaskDefinition`: a run made of an ordered list of step methods.

    class Onboard(StepsTaskDefinition[OnboardInput]):
        id = "onboard"
        steps = ("create_account", "import_contacts", "send_welcome")

        async def create_account(self, controller): ...
        async def import_contacts(self, controller):
            if more_to_do:
                return controller.response.continue_(state={"cursor": c})  # stay here
        def send_welcome(self, controller):   # plain `def`: runs in a thread
            return {"sent": True}              # the last step's value is the output

A step may span many iterations: `continue_` stays in the step (its state
and delay are kept), and so does `wait_for_children`. Any other return
value finishes the step, and the next iteration starts the next one (with
`controller.state` as the step left it); the last step's value is the run's
output.
`done`, `error` and `aborted` end the run as usual. The current step is
saved in the state under `STEP_KEY`, so a resumed, retried or rescued run
starts again at the step it was in. Progress is derived from the steps
("2 of 3 steps") unless a step reports its own.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel

from taskloom.definitions.controller import TaskController
from taskloom.definitions.definition import TaskDefinition
from taskloom.definitions.responses import (
    Aborted,
    Continue,
    Done,
    Error,
    Response,
    WaitForChildren,
    as_response,
)

InputT = TypeVar("InputT", bound=BaseModel)
STEP_KEY = "_step"


class StepsTaskDefinition(TaskDefinition[InputT]):
    steps: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in cls.steps:
            if not callable(getattr(cls, name, None)):
                raise TypeError(f"{cls.__name__}.steps names {name!r}, which is not a method")

    @classmethod
    def is_async(cls) -> bool:
        return True

    @staticmethod
    def current_step(state: dict[str, Any]) -> int:
        """The index of the step a run with this state is in."""
        return int(state.get(STEP_KEY, 0))

    async def run(self, controller: TaskController[InputT]) -> Any:
        steps = type(self).steps
        index = self.current_step(controller.state)
        if index >= len(steps):
            return controller.response.done()
        name = steps[index]
        controller.progress(index, len(steps), "steps")
        controller.status(f"Step {index + 1} of {len(steps)}: {name}")
        method = getattr(self, name)
        if inspect.iscoroutinefunction(method):
            value = await method(controller)
        else:
            value = await asyncio.to_thread(method, controller)
        response: Response = as_response(value)
        if isinstance(response, Continue):  # stays in this step
            state = controller.state if response.state is None else response.state
            return Continue(state={**state, STEP_KEY: index}, delay=response.delay)
        if isinstance(response, WaitForChildren):  # back in this step once they end
            state = controller.state if response.state is None else response.state
            return WaitForChildren(state={**state, STEP_KEY: index})
        if isinstance(value, Done | Error | Aborted):  # ends the run as usual
            return response
        controller.progress(index + 1, len(steps), "steps")
        if index + 1 >= len(steps):
            return controller.response.done(output=value)
        return controller.response.continue_(state={**controller.state, STEP_KEY: index + 1})
