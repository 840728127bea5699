"""Issue 21's two resource attacks, re-run against a real `taskloom serve`
(authentication on, the example definitions, a fresh SQLite file):

* cost (item 4): a run with 60 children, then one request of 5 aliases of
  `taskRun { children(first: 60) { … parent { children(first: 60) … } } }`
  three levels deep, while a second client polls `/healthz`: the answer's
  time and size, and the longest `/healthz` wait meanwhile;
* memo (item 5): 1,200 distinct invalid 23 KB documents without a token:
  the server's RSS before and after.

`python -m bench.attacks [--source DIR]`: DIR is another checkout (the code
before a change) put first on the server's PYTHONPATH. Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

FAN_OUT = 'mutation { triggerTask(definitionId: "fan-out", input: {children: 60}) { id } }'


def nested_children(levels: int) -> str:
    inner = "id"
    for _ in range(levels):
        inner = f"children(first: 60) {{ edges {{ node {{ id parent {{ {inner} }} }} }} }}"
    return inner


def cost_query(run_id: str) -> str:
    aliases = " ".join(
        f'a{i}: taskRun(id: "{run_id}") {{ {nested_children(3)} }}' for i in range(5)
    )
    return "{ " + aliases + " }"


def invalid_document(n: int) -> str:
    """About 23 KB of unknown fields, distinct for every `n`."""
    fields = " ".join(f"f{n}x{i}" for i in range(2_300))
    return "{ " + fields + " }"


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match is not None
    return int(match.group(1))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(workdir: Path, port: int, source: str | None) -> tuple[subprocess.Popen[str], str]:
    env = dict(os.environ)
    env.update(
        TASKLOOM_DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'taskloom.db'}",
        TASKLOOM_DEFINITIONS="taskloom.definitions.examples",
        TASKLOOM_LOAD_ENTRY_POINTS="false",
        PYTHONUNBUFFERED="1",
    )
    if source:
        env["PYTHONPATH"] = source
    taskloom = Path(sys.executable).parent / "taskloom"
    log = workdir / "serve.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [str(taskloom), "serve", "--port", str(port)],
            env=env,
            cwd=workdir,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
    for _ in range(600):
        found = re.search(r'"Bearer ([^"\s]+)"', log.read_text())
        if found:
            return process, found.group(1)
        time.sleep(0.05)
    raise RuntimeError("taskloom serve printed no token")


async def wait_healthy(client: httpx.AsyncClient) -> None:
    for _ in range(300):
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("not healthy")


async def cost_attack(client: httpx.AsyncClient, auth: dict[str, str]) -> dict[str, Any]:
    created = await client.post("/graphql", json={"query": FAN_OUT}, headers=auth)
    run_id = created.json()["data"]["triggerTask"]["id"]
    count = '{ taskRun(id: "' + run_id + '") { children { totalCount } } }'
    for _ in range(600):
        answer = await client.post("/graphql", json={"query": count}, headers=auth)
        if answer.json()["data"]["taskRun"]["children"]["totalCount"] >= 60:
            break
        await asyncio.sleep(0.1)
    longest = 0.0
    done = asyncio.Event()

    async def probe() -> None:
        nonlocal longest
        while not done.is_set():
            began = time.perf_counter()
            await client.get("/healthz")
            longest = max(longest, time.perf_counter() - began)
            await asyncio.sleep(0.05)

    prober = asyncio.create_task(probe())
    began = time.perf_counter()
    answer = await client.post(
        "/graphql", json={"query": cost_query(run_id)}, headers=auth, timeout=600
    )
    took = time.perf_counter() - began
    done.set()
    await prober
    body = answer.json()
    errors = body.get("errors") or []
    return {
        "request_bytes": len(cost_query(run_id)),
        "answer_seconds": round(took, 3),
        "answer_bytes": len(answer.content),
        "error_code": errors[0]["extensions"]["code"] if errors else None,
        "healthz_longest_wait_seconds": round(longest, 3),
    }


async def memo_attack(client: httpx.AsyncClient, pid: int) -> dict[str, Any]:
    before = rss_kib(pid)
    began = time.perf_counter()
    sizes = set()
    for n in range(1_200):
        document = invalid_document(n)
        sizes.add(len(document) // 1000)
        await client.post("/graphql", json={"query": document})
    after = rss_kib(pid)
    return {
        "documents": 1_200,
        "document_kb": sorted(sizes),
        "rss_before_mib": round(before / 1024, 1),
        "rss_after_mib": round(after / 1024, 1),
        "rss_growth_mib": round((after - before) / 1024, 1),
        "seconds": round(time.perf_counter() - began, 1),
    }


async def main(source: str | None, attacks: list[str]) -> dict[str, Any]:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        process, token = start(Path(tmp), port, source)
        try:
            auth = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=900) as c:
                await wait_healthy(c)
                found: dict[str, Any] = {"source": source or "this checkout"}
                if "memo" in attacks:
                    found["memo"] = await memo_attack(c, process.pid)
                    print(json.dumps(found["memo"]), file=sys.stderr, flush=True)
                if "cost" in attacks:
                    found["cost"] = await cost_attack(c, auth)
        finally:
            process.terminate()
            process.wait(30)
    return found


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", help="another checkout to serve from")
    parser.add_argument("--attack", choices=["memo", "cost"], action="append")
    options = parser.parse_args()
    attacks = options.attack or ["memo", "cost"]
    print(json.dumps(asyncio.run(main(options.source, attacks)), indent=2))
