"""The root `Mutation`, merged from one module per concern.

A later concern (control: pause/resume/retry/priority/delete; tokens) adds
its own module with a `@strawberry.type` class and joins `CONCERNS`."""

from __future__ import annotations

from strawberry.tools import merge_types

from taskloom.schema.mutations.bulk import BulkMutations
from taskloom.schema.mutations.control import ControlMutations
from taskloom.schema.mutations.runs import RunMutations
from taskloom.schema.tokens import TokenMutations
from taskloom.schema.webhooks import WebhookMutations

CONCERNS: tuple[type, ...] = (
    RunMutations,
    BulkMutations,
    ControlMutations,
    TokenMutations,
    WebhookMutations,
)

Mutation = merge_types("Mutation", CONCERNS)
