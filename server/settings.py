"""Settings from the environment (prefix TASKLOOM_) or from code."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from taskloom.definitions.errors import ConfigurationError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TASKLOOM_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./taskloom.db"
    definitions: str = Field("", description="comma-separated modules to import")
    load_entry_points: bool = True
    concurrency: int = Field(256, ge=1, le=10_000)
    lease_seconds: float = Field(30.0, gt=0)
    poll_interval: float = Field(1.0, gt=0)
    max_lease_losses: int = Field(3, ge=1)
    shutdown_grace: float = Field(10.0, ge=0)
    # How long each phase of a stop may take beyond what it waits for by
    # design (the worker: the grace); one past it is abandoned (server/shutdown.py).
    shutdown_margin: float = Field(5.0, gt=0)
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    # A worker on a SQLite file commits its claims and outcomes in a second
    # process (server/store/sqlite/writer_process.py); off: on its own thread.
    sqlite_writer_process: bool = True
    pool_size: int = Field(10, ge=1)
    # A caller waits at most this long for a write (a lock held by another
    # process, an unreachable server), then gets UNAVAILABLE, nothing written.
    write_timeout: float = Field(15.0, gt=0)
    host: str = "127.0.0.1"
    port: int = 8000
    cors_origins: str = ""
    log_format: Literal["text", "json"] = "text"
    # Security (server/auth): API tokens on by default; "disabled" only on loopback.
    auth: Literal["enabled", "disabled"] = "enabled"
    max_query_depth: int = Field(15, ge=1)
    max_aliases: int = Field(50, ge=0)
    max_query_cost: int = Field(50_000, ge=1)
    max_tokens: int = Field(5_000, ge=10)
    max_document_bytes: int = Field(100_000, ge=100)
    max_input_bytes: int = Field(1024 * 1024, ge=1)
    max_input_depth: int = Field(100, ge=1, le=200)
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    introspection: bool = True
    # WebSockets (server/socket_watch.py): connection_init due within, and a
    # socket without a valid token closed after, this many seconds; its token
    # re-checked this often; open subscriptions per token.
    ws_init_timeout: float = Field(10.0, gt=0)
    ws_token_recheck_seconds: float = Field(5.0, gt=0)
    max_subscriptions_per_token: int = Field(100, ge=1)
    # Parsed valid documents of callers with a token (schema/memo.py).
    document_memo_bytes: int = Field(64 * 1024 * 1024, ge=0)
    # Retention (server/maintenance.py): finished runs older than this many
    # days are deleted daily; 0 keeps them forever. `maintenance` None: on
    # unless the embedding code passes its own registry.
    retention_days: float = Field(30, ge=0)
    maintenance: bool | None = None
    # OpenTelemetry (server/tracing.py): None: on when the taskloom[otel]
    # extra is installed.
    otel: bool | None = None
    # Webhooks (server/webhooks/sender.py): sent beside the worker in every
    # process that runs one; several senders share the outbox.
    webhook_sender: bool = True
    webhook_poll_interval: float = Field(0.5, gt=0)
    webhook_timeout: float = Field(10.0, gt=0)
    webhook_concurrency: int = Field(16, ge=1)
    webhook_backoff: float = Field(5.0, gt=0)  # the first retry's wait, doubled each time
    webhook_max_backoff: float = Field(3600.0, gt=0)
    webhook_retry_seconds: float = Field(86_400.0, ge=0)  # give up this long after the event
    # Once per process, after start: gc.freeze() and a larger youngest
    # generation (server/gctuning.py).
    tune_gc: bool = True

    @property
    def definition_modules(self) -> list[str]:
        return [m.strip() for m in self.definitions.split(",") if m.strip()]


def load_settings() -> Settings:
    """The settings from the environment; a value that does not fit is a
    ConfigurationError naming its variable."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "TASKLOOM_" + str(first["loc"][0]).upper() if first["loc"] else "TASKLOOM_*"
        given = first.get("input")
        raise ConfigurationError(
            f"{name}={given!r} is not valid: {first['msg']}",
            f"set {name} to a valid value, or unset it for the default",
        ) from exc
