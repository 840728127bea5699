"""Everything that runs: settings, store, engine, service, app, CLI."""

from server.service import TaskService
from server.settings import Settings
from server.taskloom import Taskloom

__all__ = ["Settings", "TaskService", "Taskloom"]
