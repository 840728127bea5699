"""The one place where failures become GraphQL errors with `extensions.code`.

* Taskloom's own exceptions carry their code (`BAD_USER_INPUT` with the
  per-field `errors`, `NOT_FOUND`, `CONFLICT`, `FORBIDDEN`, `UNAVAILABLE`
  with `retryable: true`, ...).
* A malformed operation (syntax, unknown field, wrong variable type) is
  `BAD_USER_INPUT` with graphql-core's message.
* Anything else is `INTERNAL_SERVER_ERROR` with a generic message and an
  `errorId`; the traceback goes to the server log under the same id, never
  to the client.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from graphql import GraphQLError

from taskloom.definitions.errors import InvalidInput, TaskloomError

log = logging.getLogger("taskloom.graphql")

INTERNAL = "INTERNAL_SERVER_ERROR"


def classify(error: GraphQLError) -> None:
    """Rewrites `error` in place for the client (idempotent)."""
    if error.extensions and "code" in error.extensions:
        return
    original = error.original_error
    if isinstance(original, TaskloomError) and original.code != INTERNAL:
        extensions: dict[str, Any] = {"code": original.code}
        if isinstance(original, InvalidInput):
            extensions["errors"] = original.errors
        if original.retryable:
            extensions["retryable"] = True
        error.message = original.message
        error.extensions = extensions
        log.debug("GraphQL %s at %s: %s", original.code, error.path, original.message)
    elif original is None or isinstance(original, GraphQLError) or error.path is None:
        # Raised by graphql-core while parsing, validating or coercing the
        # request: the message describes the client's operation.
        error.extensions = {"code": "BAD_USER_INPUT"}
    else:
        error_id = uuid.uuid4().hex[:16]
        log.error(
            "GraphQL internal error %s at %s",
            error_id,
            error.path,
            exc_info=(type(original), original, original.__traceback__),
        )
        error.message = f"Internal server error (error id {error_id})"
        error.extensions = {"code": INTERNAL, "errorId": error_id}
        error.original_error = None


def classify_all(errors: list[GraphQLError]) -> None:
    for error in errors:
        classify(error)


# graphql-core's `did_you_mean`: " Did you mean 'a', 'b', or 'c'?", perhaps
# with a phrase ("the enum value"); names are GraphQL names.
_SUGGESTION = re.compile(r" Did you mean (?:[a-z ]+ )?'\w+'(?:,? (?:or )?'\w+')*\?")


def hide_suggestions(errors: list[GraphQLError]) -> None:
    """Drops graphql-core's "Did you mean ..." from every message (parsing,
    validation, variable and argument coercion alike)."""
    for error in errors:
        error.message = _SUGGESTION.sub("", error.message)
