"""A throwaway PostgreSQL cluster for the test suite.

`PgCluster.start()` runs `initdb` into a temporary folder (as the `postgres`
user when the tests run as root), starts the server on a free loopback port
with its unix socket inside that folder, and `stop()` removes everything.
Each test gets a fresh database (`create_database`), copied from a template
that Taskloom's migrations brought to head once, and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import queue
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

BINARIES = ("initdb", "pg_ctl", "psql")
PREFETCH = 4  # databases created ahead of the tests that will ask for them
HELPERS = 3  # threads creating and dropping them


def find_bindir() -> Path | None:
    """The folder holding initdb, pg_ctl and psql: PATH first, then the
    Debian layout /usr/lib/postgresql/<version>/bin (newest first)."""
    on_path = [shutil.which(name) for name in BINARIES]
    if all(on_path):
        initdb = Path(on_path[0] or "").resolve()
        if (initdb.parent / "pg_ctl").exists():
            return initdb.parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: [int(x) if x.isdigit() else 0 for x in Path(p).parent.name.split(".")],
        reverse=True,
    )
    for candidate in candidates:
        if all((Path(candidate) / name).exists() for name in BINARIES):
            return Path(candidate)
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgCluster:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="taskloom-pg-"))
        self.data = self.root / "data"
        self.port = 0
        self._as_root = os.geteuid() == 0
        self._started = False
        self._helpers: list[threading.Thread] = []
        self._template_lock = threading.Lock()
        self._todo: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._template = ""
        self._options = ""

    # --- running commands, as `postgres` when we are root -----------------

    def _command(self, args: list[str]) -> list[str]:
        if not self._as_root:
            return args
        runuser = shutil.which("runuser")
        if runuser:
            return [runuser, "-u", "postgres", "--", *args]
        return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(args)]

    def _run(self, args: list[str], *, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._command(args),
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )

    def start(self) -> PgCluster:
        if self._as_root:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError(
                    "running as root needs a `postgres` user to own the test cluster"
                ) from None
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self._run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ]
        )
        last_error = ""
        for _ in range(5):
            self.port = free_port()
            options = " ".join(
                [
                    "-c listen_addresses=127.0.0.1",
                    f"-c port={self.port}",
                    f"-c unix_socket_directories={self.root}",
                    "-c max_connections=300",
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                    "-c shared_buffers=128MB",
                ]
            )
            try:
                self._pg_ctl_start(options)
                self._options = options
                self._started = True
                return self
            except subprocess.CalledProcessError as exc:
                last_error = exc.stderr + self.log_tail()
        raise RuntimeError(f"could not start PostgreSQL: {last_error}")

    def _pg_ctl_start(self, options: str) -> None:
        self._run(
            [
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.root / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            timeout=90,
        )

    def outage(self, seconds: float) -> None:
        """The server restarted: stopped (`-m fast`: every connection
        dropped, open transactions rolled back, nothing committed lost),
        and started again `seconds` later on the same port. (An immediate
        stop would lose commits already acknowledged: this cluster runs
        with fsync and synchronous_commit off.)"""
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"])
        time.sleep(seconds)
        self._pg_ctl_start(self._options)

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self.root / "server.log").read_text()[-2000:]
        return ""

    def stop(self) -> None:
        for _ in self._helpers:
            self._todo.put(None)
        for helper in self._helpers:
            helper.join(timeout=60)
        self._helpers = []
        try:
            if self._started:
                self._run(
                    [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
                )
        finally:
            self._started = False
            shutil.rmtree(self.root, ignore_errors=True)

    # --- databases ----------------------------------------------------------

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [
                str(self.bindir / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.root),
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return result.stdout

    def create_database(self) -> str:
        """A new, empty database. A background thread keeps PREFETCH of them
        created ahead, and drops finished ones, so tests don't wait on it."""
        if not self._helpers:
            # CREATE DATABASE spends most of its time waiting, not working:
            # a few at once finish several times sooner than one by one.
            self._helpers = [
                threading.Thread(target=self._help, name=f"pg-databases-{i}", daemon=True)
                for i in range(HELPERS)
            ]
            for helper in self._helpers:
                helper.start()
            for _ in range(PREFETCH):
                self._todo.put(("create", ""))
        self._todo.put(("create", ""))
        made = self._ready.get(timeout=120)
        if isinstance(made, BaseException):
            raise made
        return made

    def drop_database(self, name: str) -> None:
        if not self._helpers:
            self._drop_now(name)
        else:
            self._todo.put(("drop", name))

    def _help(self) -> None:
        while (job := self._todo.get()) is not None:
            action, name = job
            try:
                if action == "create":
                    with self._template_lock:
                        if not self._template:
                            self._template = self._migrated_template()
                    name = f"t_{uuid.uuid4().hex}"
                    self.psql(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
                    self._ready.put(name)
                else:
                    self._drop_now(name)
            except Exception as exc:
                if action == "create":
                    self._ready.put(exc)

    def _migrated_template(self) -> str:
        """A database migrated once, by Taskloom's own migrations, that each
        test's database is copied from: a test's first start then finds the
        schema at head instead of running every migration again."""
        name = f"t_template_{uuid.uuid4().hex[:8]}"
        self.psql(f'CREATE DATABASE "{name}"')

        async def upgrade() -> None:
            from taskloom.server.store.connect import open_database
            from taskloom.server.store.migrate import migrate

            database = open_database(self.url(name), pool_size=1)
            await database.start()
            try:
                await migrate(database)
            finally:
                await database.close()

        asyncio.run(upgrade())  # on this helper thread, with its own loop
        return name

    def _drop_now(self, name: str) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except subprocess.CalledProcessError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)  # a connection is still closing: poll again

    def url(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"
