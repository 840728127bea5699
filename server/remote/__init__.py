"""The remote client: `TaskService`'s methods on a Taskloom server over
GraphQL (HTTP, and graphql-transport-ws for live streams), for backend code
in another process or on another machine. `Client` is async, `SyncClient`
its synchronous twin; both are `taskloom.Client` / `taskloom.SyncClient`.

It imports the SDK (read models, errors, the `RunsAPI` protocol), httpx
and websockets, and nothing of the store, the engine, the service or
GraphQL's server side (tests/unit/test_import_layers.py)."""

from taskloom.server.remote.client import Client
from taskloom.server.remote.sync_client import SyncClient
from taskloom.server.remote.transport import Unreachable

__all__ = ["Client", "SyncClient", "Unreachable"]
