"""The operator commands of `taskloom`: definitions, runs, show, logs,
trigger, wait, abort, pause, resume, retry, pause-definition,
resume-definition, schedules, create-schedule, delete-schedule.

Each talks to a running server over GraphQL (`--url` / `TASKLOOM_URL`, with
`--token` / `TASKLOOM_TOKEN` sent as a bearer token) or, when given
`--database-url` or no URL at all, straight to the database through
`TaskService` (the database of `TASKLOOM_DATABASE_URL` by default).

Both ways give the same records: a run is a dict with the snake_case keys of
`taskloom.definitions.run_view.RunView` (`id`, `definition_id`, `status`, `progress`, ...),
which is what `--json` prints.

Exit codes: 0 success; 1 an error (unreachable server, unknown run, invalid
input, conflict); 3 the run FAILED; 4 the run was ABORTED; 5 `wait` timed out.
"""

# the reading commands first: `taskloom --help` lists them in this order
from taskloom.server.client import read_commands

# isort: split
from taskloom.server.client import run_commands

# isort: split
from taskloom.server.client import definition_commands, schedule_commands
from taskloom.server.client.options import app, register

__all__ = [
    "app",
    "definition_commands",
    "read_commands",
    "register",
    "run_commands",
    "schedule_commands",
]
