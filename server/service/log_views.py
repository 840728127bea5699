"""A log line as its reader may see it. An exception's traceback is kept
whole and task-only (engine/tracebacks.py); admins and the system read the
whole one, everyone else only the task's own frames, so no server path
reaches them."""

from __future__ import annotations

import dataclasses

from taskloom.definitions.views import LogView
from taskloom.server.auth.identity import Actor
from taskloom.server.engine.tracebacks import WHOLE_AND_TASK_ONLY


def sees_whole_tracebacks(actor: Actor | None) -> bool:
    return actor is None or actor.is_admin


def shown(view: LogView, whole_tracebacks: bool) -> LogView:
    data = view.data
    if not isinstance(data, dict) or not any(
        key in data for pair in WHOLE_AND_TASK_ONLY for key in pair
    ):
        return view
    data = dict(data)
    for whole, task_only in WHOLE_AND_TASK_ONLY:
        short = data.pop(task_only, None)
        if whole in data and not whole_tracebacks:
            # A line written before tracebacks were kept twice has no short
            # form: its traceback is left out.
            if short is None:
                del data[whole]
            else:
                data[whole] = short
    return dataclasses.replace(view, data=data)
