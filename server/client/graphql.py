"""The backend that talks to a running server over GraphQL."""

from __future__ import annotations

from typing import Any

import httpx

from taskloom.server.client.base import CliError
from taskloom.server.client.records import snake_keys

RUN_FIELDS = """
  id definitionId name status requested input state output
  error { message code data } iterations attempt priority
  progress { current total units percent display } statusMessage
  createdAt runAt startedAt finishedAt updatedAt waitingMs durationMs
  hasErrors canAbort parentId createdBy
"""
LOG_FIELDS = "id runId level message data iteration createdAt"
MUTATIONS = {
    "abort": "abortTask",
    "pause": "pauseTask",
    "resume": "resumeTask",
    "retry": "retryTask",
}


class GraphQLBackend:
    def __init__(self, url: str, token: str | None) -> None:
        base = url.rstrip("/")
        self.endpoint = base if base.endswith("/graphql") else base + "/graphql"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(headers=headers, timeout=30)
        self._run_fields: str | None = None

    def close(self) -> None:
        self.client.close()

    def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = self.client.post(
                self.endpoint, json={"query": query, "variables": variables or {}}
            )
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach {self.endpoint}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            raise CliError(f"{self.endpoint} answered HTTP {response.status_code}") from None
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors:
            first = errors[0]
            extensions = first.get("extensions") or {}
            raise CliError(
                first.get("message", "the server reported an error"),
                errors=list(extensions.get("errors") or []),
            )
        if response.status_code >= 400 or not isinstance(body, dict):
            raise CliError(f"{self.endpoint} answered HTTP {response.status_code}")
        data: dict[str, Any] = body.get("data") or {}
        return data

    def run_fields(self) -> str:
        """The run fields to ask for: the contract's, plus canPause, waiting
        and the like when this server has them."""
        if self._run_fields is None:
            data = self.query('{ __type(name: "TaskRun") { fields { name } } }')
            names = {f["name"] for f in (data.get("__type") or {}).get("fields") or []}
            extra = [n for n in ("canPause", "canResume", "canRetry", "workerId") if n in names]
            if "waiting" in names:
                extra.append("waiting { until reason }")
            self._run_fields = RUN_FIELDS + " ".join(extra)
        return self._run_fields

    def definitions(self) -> list[dict[str, Any]]:
        data = self.query(
            """{ taskDefinitions { id title description inputSchema maxIterations
                 iterationTimeout retry { attempts waitSeconds multiplier } } }"""
        )
        return list(snake_keys(data["taskDefinitions"]))

    def runs(self, where: dict[str, Any], first: int) -> tuple[list[dict[str, Any]], int]:
        graph_where = {
            "definitionId": where.get("definition_id"),
            "status": where.get("statuses"),
            "parentId": where.get("parent_id"),
            "nameContains": where.get("name_contains"),
            "hasErrors": where.get("has_errors"),
        }
        data = self.query(
            f"""query Runs($where: TaskRunFilter, $first: Int) {{
                  taskRuns(where: $where, first: $first) {{
                    totalCount edges {{ node {{ {self.run_fields()} }} }} }} }}""",
            {"where": {k: v for k, v in graph_where.items() if v is not None}, "first": first},
        )
        runs = data["taskRuns"]
        return [snake_keys(e["node"]) for e in runs["edges"]], int(runs["totalCount"])

    def get(self, run_id: str) -> dict[str, Any]:
        data = self.query(
            f"query Run($id: ID!) {{ taskRun(id: $id) {{ {self.run_fields()} }} }}",
            {"id": run_id},
        )
        if data.get("taskRun") is None:
            raise CliError(f"no task run with id {run_id!r}")
        return dict(snake_keys(data["taskRun"]))

    def logs(
        self, run_id: str, after: str | None, first: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        data = self.query(
            f"""query Logs($where: TaskLogFilter, $first: Int, $after: String) {{
                  taskLogs(where: $where, first: $first, after: $after) {{
                    edges {{ node {{ {LOG_FIELDS} }} }} pageInfo {{ endCursor }} }} }}""",
            {"where": {"runId": run_id}, "first": first, "after": after},
        )
        page = data["taskLogs"]
        lines = [snake_keys(e["node"]) for e in page["edges"]]
        return lines, page["pageInfo"]["endCursor"] or after

    def trigger(
        self, definition: str, data: Any, name: str | None, priority: int, delay: int | None
    ) -> dict[str, Any]:
        fields = self.run_fields()
        result = self.query(
            f"""mutation Trigger($definitionId: ID!, $input: JSON, $name: String,
                  $priority: Int, $delaySeconds: Int) {{
                  triggerTask(definitionId: $definitionId, input: $input, name: $name,
                    priority: $priority, delaySeconds: $delaySeconds) {{ {fields} }} }}""",
            {
                "definitionId": definition,
                "input": data,
                "name": name,
                "priority": priority,
                "delaySeconds": delay,
            },
        )
        return dict(snake_keys(result["triggerTask"]))

    def control(self, action: str, run_id: str, message: str | None) -> dict[str, Any]:
        field = MUTATIONS[action]
        data = self.query("{ __schema { mutationType { fields { name args { name } } } } }")
        fields = {
            f["name"]: {a["name"] for a in f["args"]}
            for f in data["__schema"]["mutationType"]["fields"]
        }
        if field not in fields:
            raise CliError(f"this server cannot {action} runs yet (no {field} mutation)")
        with_message = "message" in fields[field] and message is not None
        params, args = "$id: ID!", "id: $id"
        variables: dict[str, Any] = {"id": run_id}
        if with_message:
            params, args = params + ", $message: String", args + ", message: $message"
            variables["message"] = message
        result = self.query(
            f"mutation Control({params}) {{ {field}({args}) {{ {self.run_fields()} }} }}",
            variables,
        )
        return dict(snake_keys(result[field]))
