"""`make bench`: every workload of issue 8, Taskloom and its peers side by
side in one run, one table of ratios and raw figures with pass or miss per
target. Results also go to bench/out/results.json.

Run with the project's interpreter from the repository root:
`.venv/bin/python -m bench.run [--quick]`. The peers run in bench/.venv
(made by `make bench`), PostgreSQL in a throwaway cluster in a temporary
folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PEER_PYTHON = ROOT / "bench" / ".venv" / "bin" / "python"
NOOP_ROUNDS = 3


def _run(cmd: list[str], timeout: float = 900) -> dict[str, Any]:
    started = time.perf_counter()
    print(f"  $ {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    done = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=_env(), check=False
    )
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-5:]
        raise RuntimeError(f"{cmd[1:3]} failed: {' / '.join(tail)}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"    {time.perf_counter() - started:.0f} s: {result}", file=sys.stderr, flush=True)
    return result


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    return env


def _taskloom(*args: str) -> list[str]:
    return [sys.executable, "-m", "bench.taskloom_embedded", *args]


def _try(figures: dict[str, Any], key: str, fn: Callable[[], dict[str, Any]]) -> None:
    try:
        figures[key] = fn()
    except Exception as exc:  # a workload that fails is reported, not fatal
        print(f"  {key}: not measured: {exc}", file=sys.stderr, flush=True)
        figures[key] = {"error": str(exc)}


def measure(quick: bool) -> dict[str, Any]:
    runs = 5_000 if quick else 20_000
    pg_runs = 2_000 if quick else 5_000
    figures: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.platform()}",
        "quick": quick,
    }
    print("1. no-op throughput, embedded (Taskloom on SQLite, Huey SqliteHuey)", file=sys.stderr)
    # Rounds alternate Taskloom and Huey, and each figure is the best of its
    # side's runs: this machine's speed drifts by minutes, and one run each
    # would compare different minutes. Three rounds, as one Taskloom round
    # of two often fell in a slow minute (22,572 against 10,672 drained/s).
    for n in range(1, (1 if quick else NOOP_ROUNDS) + 1):
        _try(figures, f"taskloom_noop_{n}", lambda: _run(_taskloom("noop", "--runs", str(runs))))
        for workers in (4, 16):
            _try(
                figures,
                f"huey_{workers}_{n}",
                lambda w=workers: _run(  # type: ignore[misc]
                    [
                        str(PEER_PYTHON),
                        "bench/peer_huey.py",
                        "--runs",
                        str(runs),
                        "--workers",
                        str(w),
                    ]
                ),
            )
    # Not a target: what the SQLite store alone costs per drained run.
    _try(
        figures,
        "taskloom_store_floor",
        lambda: _run([sys.executable, "-m", "bench.store_floor", "--runs", str(runs)]),
    )
    print("3. continue_ iterations", file=sys.stderr)
    _try(figures, "taskloom_iterations", lambda: _run(_taskloom("iterations", "--runs", "200")))
    print("4. trigger-to-start latency", file=sys.stderr)
    _try(figures, "taskloom_latency", lambda: _run(_taskloom("latency")))
    print("6. memory", file=sys.stderr)
    _try(figures, "taskloom_memory", lambda: _run(_taskloom("memory")))
    print("5. API over HTTP", file=sys.stderr)
    rows = "100000" if quick else "1000000"
    _try(
        figures,
        "taskloom_api",
        lambda: _run([sys.executable, "-m", "bench.api", "--rows", rows, "--bulk-runs", str(runs)]),
    )
    print("2. PostgreSQL (Taskloom, procrastinate)", file=sys.stderr)
    _try(figures, "postgres", lambda: _postgres(pg_runs))
    return figures


def _postgres(runs: int) -> dict[str, Any]:
    from bench.pg import Cluster

    cluster = Cluster().start()
    try:
        cluster.create_database("bench_procrastinate")
        cluster.create_database("bench_taskloom")
        out: dict[str, Any] = {}
        out["procrastinate"] = _run(
            [
                str(PEER_PYTHON),
                "bench/peer_procrastinate.py",
                "--dsn",
                cluster.dsn("bench_procrastinate"),
                "--runs",
                str(runs),
                "--processes",
                "2",
                "--concurrency",
                "10",
            ]
        )
        url = cluster.dsn("bench_taskloom").replace("postgresql://", "postgresql+asyncpg://")
        out["taskloom"] = _run(
            [
                sys.executable,
                "-m",
                "bench.taskloom_pg",
                "--url",
                url,
                "--runs",
                str(runs),
                "--processes",
                "2",
            ]
        )
        return out
    finally:
        cluster.stop()


# --- the table ----------------------------------------------------------------


def _get(figures: dict[str, Any], *path: str) -> float | None:
    value: Any = figures
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, int | float) else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def table(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of (what, Taskloom, peer, ratio, target, pass/miss)."""

    def best(prefix: str, key: str) -> float | None:
        """The best `key` of the runs named `prefix` or `prefix_...` (rounds,
        and Huey's consumers with 4 and 16 workers)."""
        values = [
            run[key]
            for name, run in figures.items()
            if (name == prefix or name.startswith(prefix + "_"))
            and isinstance(run, dict)
            and isinstance(run.get(key), int | float)
        ]
        return float(max(values)) if values else None

    rows: list[dict[str, Any]] = []

    def ratio_row(what: str, ours: float | None, peer: float | None, need: float) -> None:
        r = _ratio(ours, peer)
        rows.append(
            {
                "what": what,
                "taskloom": ours,
                "peer": peer,
                "ratio": r,
                "target": f">= {need:g}x",
                "result": "n/a" if r is None else ("pass" if r >= need else "miss"),
            }
        )

    def limit_row(what: str, value: float | None, limit: float, unit: str) -> None:
        rows.append(
            {
                "what": what,
                "taskloom": value,
                "peer": None,
                "ratio": None,
                "target": f"< {limit:g} {unit}",
                "result": "n/a" if value is None else ("pass" if value < limit else "miss"),
            }
        )

    t = "taskloom_noop"
    ratio_row("drain runs/s vs Huey drain", best(t, "drain_per_s"), best("huey", "drain_per_s"), 10)
    ratio_row(
        "trigger() one by one/s vs Huey enqueue",
        best(t, "trigger_one_by_one_per_s"),
        best("huey", "enqueue_per_s"),
        1.5,
    )
    ratio_row(
        "trigger_many runs/s vs Huey enqueue",
        best(t, "trigger_many_per_s"),
        best("huey", "enqueue_per_s"),
        10,
    )
    ratio_row(
        "bulk trigger + drain end to end vs Huey end to end",
        best(t, "end_to_end_bulk_per_s"),
        best("huey", "end_to_end_per_s"),
        10,
    )
    pg = "postgres"
    ratio_row(
        "PostgreSQL drain runs/s vs procrastinate",
        _get(figures, pg, "taskloom", "drain_after_bulk_per_s"),
        _get(figures, pg, "procrastinate", "drain_after_batch_per_s"),
        10,
    )
    ratio_row(
        "PostgreSQL drain after one-by-one triggers vs procrastinate",
        _get(figures, pg, "taskloom", "drain_per_s"),
        _get(figures, pg, "procrastinate", "drain_per_s"),
        10,
    )
    iterations = _get(figures, "taskloom_iterations", "iterations_per_s")
    rows.append(
        {
            "what": "persisted continue_ iterations/s (SQLite)",
            "taskloom": iterations,
            "peer": None,
            "ratio": None,
            "target": ">= 5000/s",
            "result": "n/a" if iterations is None else ("pass" if iterations >= 5000 else "miss"),
        }
    )
    limit_row(
        "trigger-to-start p50, idle", _get(figures, "taskloom_latency", "idle", "p50_ms"), 5, "ms"
    )
    limit_row(
        "trigger-to-start p99, idle", _get(figures, "taskloom_latency", "idle", "p99_ms"), 50, "ms"
    )
    limit_row(
        "taskRuns(first: 50) p50",
        _get(figures, "taskloom_api", "task_runs_first_50", "p50_ms"),
        10,
        "ms",
    )
    # Not a target (issue 25): what creating runs in bulk costs over HTTP,
    # beside the same batches of 1,000 through trigger_many in process.
    bulk_http = _get(figures, "taskloom_api", "trigger_tasks_runs_per_s")
    in_process = best(t, "trigger_many_per_s")
    rows.append(
        {
            "what": "triggerTasks runs/s over HTTP vs trigger_many in process",
            "taskloom": bulk_http,
            "peer": in_process,
            "ratio": _ratio(bulk_http, in_process),
            "target": "reported",
            "result": "n/a" if bulk_http is None else "reported",
        }
    )
    limit_row(
        "RSS growth 10k -> 100k runs", _get(figures, "taskloom_memory", "growth_pct"), 10, "%"
    )
    return rows


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def render(figures: dict[str, Any]) -> str:
    lines = [
        f"Taskloom benchmark, {figures['date']}, {figures['machine']}",
        "",
        "| target | Taskloom | peer | ratio | target | result |",
        "|---|---:|---:|---:|---|---|",
    ]
    for row in table(figures):
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}x"
        lines.append(
            f"| {row['what']} | {_fmt(row['taskloom'])} | {_fmt(row['peer'])} | {ratio} "
            f"| {row['target']} | {row['result']} |"
        )
    lines += ["", "Raw figures:", ""]
    for key, value in figures.items():
        if isinstance(value, dict):
            lines.append(f"- {key}: " + json.dumps(_rounded(value)))
    return "\n".join(lines)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller workloads")
    parser.add_argument("--render", type=Path, help="only print the table of a results file")
    args = parser.parse_args()
    if args.render:
        print(render(json.loads(args.render.read_text())))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    figures = measure(args.quick)
    figures["seconds"] = round(time.perf_counter() - started)
    (OUT / "results.json").write_text(json.dumps(figures, indent=2))
    (OUT / "results.md").write_text(render(figures) + "\n")
    print(render(figures))
    print(f"\n({figures['seconds']} s; also in bench/out/results.json and results.md)")


if __name__ == "__main__":
    main()
