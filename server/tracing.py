"""OpenTelemetry, when the `taskloom[otel]` extra is installed: a trigger
records a span and stores its trace context with the run (`traceparent`,
W3C); each iteration is a span of that trace (run id, definition,
iteration, attempt, outcome); an HTTP request's incoming `traceparent` is
continued by a server span, so a GraphQL trigger joins the caller's trace.

Without the extra nothing of OpenTelemetry is loaded: `setup`'s one import
fails, `TRACER` stays None, and every function returns at its first line.
Spans go to the tracer provider the application configured before
Taskloom started (none configured: no spans, no cost beyond that import).
Iteration spans are not made current: a batch's iterations share one
asyncio task, so a context attached by one would leak into the others."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

TRACER: Any = None  # an opentelemetry Tracer once `setup` enabled tracing
_otel: Any = None  # the modules used, once imported: (trace, propagate)


def setup(enabled: bool | None) -> bool:
    """Turns tracing on when `enabled`, or (None) when OpenTelemetry is
    installed and the application has configured a tracer provider by now:
    with none, spans would go nowhere, so none are made. Returns whether it
    is on."""
    global TRACER, _otel
    TRACER = None
    if enabled is False:
        return False
    try:
        from opentelemetry import propagate, trace
    except ImportError:
        return False
    unconfigured = isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    if enabled is None and unconfigured:
        return False
    _otel = (trace, propagate)
    TRACER = trace.get_tracer("taskloom")
    return True


@contextmanager
def trigger_span(definition_id: str, count: int = 1) -> Iterator[str | None]:
    """A span around a trigger (a child of the current span, if any);
    yields the `traceparent` to store with the new runs, None when off."""
    if TRACER is None:
        yield None
        return
    trace, propagate = _otel
    attributes = {"taskloom.definition": definition_id, "taskloom.runs": count}
    kind = trace.SpanKind.PRODUCER
    name = f"trigger {definition_id}"
    with TRACER.start_as_current_span(name, kind=kind, attributes=attributes) as span:
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(span))
        yield carrier.get("traceparent")


def start_iteration(row: Mapping[Any, Any]) -> Any:
    """A span for one iteration of a claimed run, in the trace its trigger
    stored (none stored: a trace of its own); None when off."""
    if TRACER is None:
        return None
    trace, propagate = _otel
    traceparent = row.get("traceparent")
    parent = propagate.extract({"traceparent": traceparent}) if traceparent else None
    return TRACER.start_span(
        f"iteration {row['definition_id']}",
        context=parent,
        kind=trace.SpanKind.CONSUMER,
        attributes={
            "taskloom.run_id": row["id"],
            "taskloom.definition": row["definition_id"],
            "taskloom.iteration": row["iterations"],  # from 0, as controller.run.iteration
            "taskloom.attempt": row["attempt"],
        },
    )


def end_iteration(span: Any, outcome: str | None, error: str | None = None) -> None:
    """Ends an iteration's span with what it led to (the run's next status,
    or why it could not be saved)."""
    if span is None:
        return
    trace = _otel[0]
    if outcome is not None:
        span.set_attribute("taskloom.outcome", outcome)
    if error is not None:
        span.set_status(trace.Status(trace.StatusCode.ERROR, error))
    span.end()


@contextmanager
def server_span(method: str, path: str, headers: Mapping[str, str]) -> Iterator[None]:
    """A server span around one HTTP request, continuing the trace of its
    `traceparent` header; nothing when off."""
    if TRACER is None:
        yield
        return
    trace, propagate = _otel
    with TRACER.start_as_current_span(
        f"{method} {path}",
        context=propagate.extract(headers),
        kind=trace.SpanKind.SERVER,
        attributes={"http.request.method": method, "url.path": path},
    ):
        yield


class TraceRequests:
    """ASGI middleware: each HTTP request inside `server_span` (a
    pass-through while tracing is off)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if TRACER is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        with server_span(scope["method"], scope["path"], headers):
            await self.app(scope, receive, send)
