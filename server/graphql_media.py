"""The GraphQL-over-HTTP media type `application/graphql-response+json`.

A client that accepts it (at least as much as `application/json`) gets its
answers with that content type, and a request error (the document does not
parse or validate, the variables do not coerce, the operation was refused
before execution: errors without a `path`, no data) is HTTP 400 with no
`data` entry, as the spec says. A client that asks for `application/json`
(or anything) keeps the legacy answer: 200 with `data: null`."""

from __future__ import annotations

from typing import TypeVar

from starlette.requests import Request
from starlette.responses import Response
from strawberry.types.execution import ExecutionResult

T = TypeVar("T")

GRAPHQL_RESPONSE = "application/graphql-response+json"
_STATE = "graphql_request_error"


def accepts_graphql_response(request: Request) -> bool:
    """Whether the Accept header prefers (or ties) GRAPHQL_RESPONSE over
    application/json."""
    weights: dict[str, float] = {}
    for part in request.headers.get("accept", "").split(","):
        kind, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        weights[kind.lower()] = max(quality, weights.get(kind.lower(), 0.0))
    wanted = weights.get(GRAPHQL_RESPONSE, 0.0)
    return wanted > 0 and wanted >= weights.get("application/json", 0.0)


def is_request_error(result: ExecutionResult) -> bool:
    """Nothing was executed: no data, and no error belongs to a field."""
    errors = result.errors or []
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


def shape_result(request: Request, result: ExecutionResult, processed: T) -> T:
    """The processed result as GRAPHQL_RESPONSE answers it: a request
    error's has no `data` entry (and the request is marked for a 400)."""
    if not isinstance(processed, dict) or not is_request_error(result):
        return processed
    if accepts_graphql_response(request):
        processed.pop("data", None)
        setattr(request.state, _STATE, True)
    return processed


def finish(request: Request, response: Response) -> Response:
    """The response with GRAPHQL_RESPONSE's content type and status, when
    the client accepts it."""
    if response.media_type == "text/html" or not accepts_graphql_response(request):
        return response
    response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
    if getattr(request.state, _STATE, False):
        response.status_code = 400
    return response
