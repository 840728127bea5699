"""Taskloom inside a real application: the wheel, installed without `-e`
into a fresh venv, beside an app that has its own `server/` package,
`schema.py` and `definitions.py`. Nothing of the checkout is on the path."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.e2e.test_readme_tour import tour_code

ROOT = Path(__file__).resolve().parents[2]
NOT_SHIPPED = (".git", ".venv", "build", "*.egg-info", "tests", "bench", "*.db*", ".*_cache")

APP_FILES = {
    "server/__init__.py": 'WHOSE = "the app\'s server"\n',
    "schema.py": 'WHOSE = "the app\'s schema"\n',
    "definitions.py": 'WHOSE = "the app\'s definitions"\n',
    "myapp/__init__.py": "",
    "myapp/tasks.py": (
        "from taskloom import TaskController, TaskDefinition, register\n"
        "\n"
        "import server\n"
        "\n"
        "\n"
        "@register\n"
        "class Shout(TaskDefinition):\n"
        '    id = "shout"\n'
        "\n"
        "    async def run(self, controller: TaskController):\n"
        '        return {"said": server.WHOSE.upper()}\n'
    ),
}


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the built wheel; the project's own dependencies
    come from the test interpreter's site-packages through a .pth line (a
    path line adds no editable finder, so the checkout stays out of reach)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"  # a copy: an in-tree build/ could hold stale modules
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(*NOT_SHIPPED))
    pip = [sys.executable, "-m", "pip"]
    build = ["wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(base / "dist")]
    subprocess.run([*pip, *build, str(source)], check=True, cwd=base, timeout=300)
    (wheel,) = (base / "dist").glob("taskloom-*.whl")
    env_dir = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "project-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    install = ["--python", str(python), "install", "-q", "--no-deps", str(wheel)]
    subprocess.run([*pip, *install], check=True, timeout=300)
    return env_dir


@pytest.fixture
def app(tmp_path: Path) -> Path:
    for name, text in APP_FILES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def app_env(app: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKLOOM_", "PYTHON"))}
    env["PYTHONPATH"] = "."
    env["TASKLOOM_DATABASE_URL"] = f"sqlite+aiosqlite:///{app / 'app.db'}"
    env["TASKLOOM_DEFINITIONS"] = "myapp.tasks"
    return env


def run_in(app: Path, venv: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=app, env=app_env(app), capture_output=True, text=True, timeout=120
    )


def test_the_apps_modules_and_taskloom_both_import(venv: Path, app: Path) -> None:
    check = (
        "import definitions, schema, server, taskloom, taskloom.server.cli\n"
        "from taskloom import Taskloom, TaskService, SyncTaskService, task\n"
        "print(server.WHOSE, schema.WHOSE, definitions.WHOSE, sep='|')\n"
        "print(taskloom.__file__)\n"
    )
    done = run_in(app, venv, str(venv / "bin" / "python"), "-c", check)
    assert done.returncode == 0, done.stderr
    whose, where = done.stdout.splitlines()
    assert whose == "the app's server|the app's schema|the app's definitions"
    assert where.startswith(str(venv)), f"taskloom imported from {where}, not the wheel"


def test_the_readme_tour_runs_from_the_wheel(venv: Path, app: Path) -> None:
    (app / "tour.py").write_text(tour_code(), encoding="utf-8")
    done = run_in(app, venv, str(venv / "bin" / "python"), "tour.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "SUCCEEDED {'greeted': 3} 3 of 3 greetings"


def test_the_cli_worker_runs_the_apps_definitions(venv: Path, app: Path) -> None:
    taskloom = str(venv / "bin" / "taskloom")
    assert run_in(app, venv, taskloom, "migrate").returncode == 0
    triggered = run_in(app, venv, taskloom, "trigger", "shout", "--json")
    assert triggered.returncode == 0, triggered.stderr
    run_id = json.loads(triggered.stdout)["id"]
    worker = subprocess.Popen(
        [taskloom, "worker"],
        cwd=app,
        env=app_env(app),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        waited = run_in(app, venv, taskloom, "wait", run_id, "--timeout", "60", "--json")
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            _, worker_log = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            _, worker_log = worker.communicate()
    assert waited.returncode == 0, waited.stderr + worker_log
    run = json.loads(waited.stdout)
    assert (run["status"], run["output"]) == ("SUCCEEDED", {"said": "THE APP'S SERVER"})


def test_the_wheel_ships_the_playground_and_its_licences(venv: Path, app: Path) -> None:
    """GraphiQL works offline from an installed wheel: its files are package data."""
    check = (
        "from taskloom.server.playground import STATIC\n"
        "for name in ('playground.js', 'vendor/graphiql.min.js', 'vendor/graphiql.min.css',\n"
        "             'vendor/react.production.min.js', 'vendor/react-dom.production.min.js',\n"
        "             'vendor/LICENSE.graphiql', 'vendor/LICENSE.react'):\n"
        "    print(name, (STATIC / name).stat().st_size > 0)\n"
        "print(STATIC)\n"
    )
    done = run_in(app, venv, str(venv / "bin" / "python"), "-c", check)
    assert done.returncode == 0, done.stderr
    *files, where = done.stdout.splitlines()
    assert all(line.endswith(" True") for line in files) and len(files) == 7, files
    assert where.startswith(str(venv))


def test_an_apps_registry_holds_its_own_definitions_and_maintenance_only(
    venv: Path, app: Path
) -> None:
    """The wheel registers no examples: `taskloom definitions` (and so the
    dashboard, /healthz and triggers) shows the app's `shout` and the
    built-in retention definition, nothing else; the examples load when
    TASKLOOM_DEFINITIONS names them."""
    taskloom = str(venv / "bin" / "taskloom")
    listed = run_in(app, venv, taskloom, "definitions", "--json")
    assert listed.returncode == 0, listed.stderr
    assert sorted(d["id"] for d in json.loads(listed.stdout)) == ["shout", "taskloom.retention"]
    refused = run_in(app, venv, taskloom, "trigger", "countdown")
    assert refused.returncode != 0 and "countdown" in refused.stderr

    env = app_env(app) | {"TASKLOOM_DEFINITIONS": "myapp.tasks,taskloom.definitions.examples"}
    asked = subprocess.run(
        [taskloom, "definitions", "--json"], cwd=app, env=env, capture_output=True, text=True
    )
    ids = {d["id"] for d in json.loads(asked.stdout)}
    assert {"shout", "countdown", "batch-import", "flaky", "fan-out"} <= ids
