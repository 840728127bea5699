"""Every GraphQL operation `Client` sends, by name. Nothing else is sent:
tests/unit/test_remote_operations.py validates each one against the
committed `schema.graphql`, so a schema change that breaks the client fails
there first."""

from __future__ import annotations

RUN = """
fragment Run on TaskRun {
  id definitionId name status waiting { until reason } requested input state output
  error { message code data }
  iterations attempt priority
  progress { current total units }
  statusMessage createdAt runAt scheduledAt startedAt finishedAt updatedAt
  workerId lastWorkerId parentId createdBy hasErrors simulate idempotencyKey
  deadlineSeconds expiresAt abortedBy abortReason
  definition { pausable abortable }
}"""
SCHEDULE = """
fragment Schedule on TaskSchedule {
  id definitionId expression timezone input declared createdBy nextRunAt lastRunAt enabled
}"""
LOG = """
fragment Log on TaskLog { id runId level message data iteration createdAt }"""

OPERATIONS: dict[str, str] = {
    "trigger": """
mutation Trigger($definitionId: ID!, $input: JSON, $name: String, $delaySeconds: Int,
  $runAt: DateTime, $priority: Int, $parentId: ID, $idempotencyKey: String,
  $simulate: Boolean!, $after: [ID!], $deadlineSeconds: Float, $expiresInSeconds: Float,
  $expiresAt: DateTime) {
  run: triggerTask(definitionId: $definitionId, input: $input, name: $name,
    delaySeconds: $delaySeconds, runAt: $runAt, priority: $priority, parentId: $parentId,
    idempotencyKey: $idempotencyKey, simulate: $simulate, after: $after,
    deadlineSeconds: $deadlineSeconds, expiresInSeconds: $expiresInSeconds,
    expiresAt: $expiresAt) { ...Run }
}"""
    + RUN,
    "trigger_many": """
mutation TriggerMany($definitionId: ID!, $inputs: [JSON!]!, $delaySeconds: Int,
  $runAt: DateTime, $priority: Int) {
  runs: triggerTasks(definitionId: $definitionId, inputs: $inputs,
    delaySeconds: $delaySeconds, runAt: $runAt, priority: $priority) { ...Run }
}"""
    + RUN,
    "get": "query Get($id: ID!) { run: taskRun(id: $id) { ...Run } }" + RUN,
    "list_runs": """
query ListRuns($where: TaskRunFilter, $first: Int, $after: String, $order: TaskRunOrder!) {
  page: taskRuns(where: $where, first: $first, after: $after, orderBy: $order) {
    edges { cursor node { ...Run } } pageInfo { hasNextPage }
  }
}"""
    + RUN,
    "count_runs": """
query CountRuns($where: TaskRunFilter) {
  page: taskRuns(where: $where, first: 0) { totalCount }
}""",
    "logs": """
query Logs($where: TaskLogFilter, $first: Int, $after: String) {
  page: taskLogs(where: $where, first: $first, after: $after) {
    edges { cursor node { ...Log } } pageInfo { hasNextPage }
  }
}"""
    + LOG,
    "history": """
query History($id: ID!, $first: Int!, $skip: Int!) {
  run: taskRun(id: $id) {
    history(first: $first, skip: $skip) {
      attempt status startedAt finishedAt output error { message code }
    }
  }
}""",
    "dependencies": """
query Dependencies($id: ID!) {
  run: taskRun(id: $id) { dependencies { ...Run } }
}"""
    + RUN,
    "abort": """
mutation Abort($id: ID!, $message: String, $cascade: Boolean!) {
  run: abortTask(id: $id, message: $message, cascade: $cascade) { ...Run }
}"""
    + RUN,
    "pause": "mutation Pause($id: ID!) { run: pauseTask(id: $id) { ...Run } }" + RUN,
    "resume": "mutation Resume($id: ID!) { run: resumeTask(id: $id) { ...Run } }" + RUN,
    "retry": "mutation Retry($id: ID!) { run: retryTask(id: $id) { ...Run } }" + RUN,
    "set_priority": """
mutation SetPriority($id: ID!, $priority: Int!) {
  run: setTaskPriority(id: $id, priority: $priority) { ...Run }
}"""
    + RUN,
    "abort_many": """
mutation AbortMany($where: TaskRunFilter!, $limit: Int!, $message: String,
  $cascade: Boolean!) {
  bulk: abortTasks(where: $where, limit: $limit, message: $message, cascade: $cascade) {
    hasMore runs { ...Run }
  }
}"""
    + RUN,
    "retry_many": """
mutation RetryMany($where: TaskRunFilter!, $limit: Int!) {
  bulk: retryTasks(where: $where, limit: $limit) { hasMore runs { ...Run } }
}"""
    + RUN,
    "definitions": """
query Definitions {
  definitions: taskDefinitions {
    id title description inputSchema maxIterations iterationTimeout
    retry { attempts waitSeconds multiplier }
    paused rateLimit
  }
}""",
    "schedules": """
query Schedules { schedules: taskSchedules { ...Schedule } }"""
    + SCHEDULE,
    "create_schedule": """
mutation CreateSchedule($definitionId: ID!, $expression: String!, $timezone: String!,
  $input: JSON) {
  schedule: createSchedule(definitionId: $definitionId, expression: $expression,
    timezone: $timezone, input: $input) { ...Schedule }
}"""
    + SCHEDULE,
    "delete_schedule": """
mutation DeleteSchedule($id: ID!) { schedule: deleteSchedule(id: $id) { ...Schedule } }"""
    + SCHEDULE,
    "pause_definition": """
mutation PauseDefinition($id: ID!) { definition: pauseDefinition(id: $id) { id paused } }""",
    "resume_definition": """
mutation ResumeDefinition($id: ID!) { definition: resumeDefinition(id: $id) { id paused } }""",
    "watch": "subscription Watch($id: ID!) { run: taskRunUpdated(id: $id) { ...Run } }" + RUN,
    "follow_logs": """
subscription FollowLogs($runId: ID!) { line: taskLogAdded(runId: $runId) { ...Log } }"""
    + LOG,
}
