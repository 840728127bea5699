// The Taskloom dashboard: runs, filters, run detail with a live log, run
// control, and a trigger form built from each definition's inputSchema.
// It uses only the public GraphQL API (HTTP for queries and mutations,
// graphql-transport-ws for subscriptions).
"use strict";

const TOKEN_KEY = "taskloom.token";
const TERMINAL = new Set(["SUCCEEDED", "FAILED", "ABORTED"]);
const BASE_RUN_FIELDS = [
  "id", "definitionId", "name", "status", "requested", "iterations", "attempt", "priority",
  "createdAt", "startedAt", "finishedAt", "durationMs", "hasErrors", "canAbort", "parentId",
];
const OPTIONAL_RUN_FIELDS = ["canPause", "canResume", "canRetry", "statusMessage"];
const ACTIONS = [
  { name: "abort", mutation: "abortTask", allowed: "canAbort", label: "Abort",
    fallback: (r) => !TERMINAL.has(r.status) && r.requested !== "ABORT" },
  { name: "pause", mutation: "pauseTask", allowed: "canPause", label: "Pause",
    fallback: (r) => (r.status === "PENDING" || r.status === "RUNNING") && !r.requested },
  { name: "resume", mutation: "resumeTask", allowed: "canResume", label: "Resume",
    fallback: (r) => r.status === "PAUSED" },
  { name: "retry", mutation: "retryTask", allowed: "canRetry", label: "Retry",
    fallback: (r) => r.status === "FAILED" || r.status === "ABORTED" },
];

const $ = (id) => document.getElementById(id);
const state = {
  token: localStorage.getItem(TOKEN_KEY) || "",
  runFields: new Set(BASE_RUN_FIELDS),
  mutations: new Set(),
  hasHistory: false,
  hasWaiting: false,
  definitions: [],
  runs: [],            // the list as last loaded, each kept fresh by subscriptions
  total: 0,
  listWhere: null,     // the filter the list shows (null: one run looked up by id)
  events: null,        // {key, stop} of the taskRunEvents subscription
  wasOffline: false,
  selected: null,      // the run shown in detail
  detailSubs: [],
  logIds: new Set(),
  ready: false,
};
const client = new GraphQLClient("/graphql", () => state.token, showConnection);

// --- small helpers ------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function time(value) {
  if (!value) return "";
  const date = new Date(value);
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay ? date.toLocaleTimeString() : date.toLocaleString();
}

function duration(ms) {
  if (ms === null || ms === undefined) return "";
  if (ms < 1000) return ms + " ms";
  const s = ms / 1000;
  if (s < 60) return s.toFixed(1) + " s";
  return Math.floor(s / 60) + " m " + String(Math.floor(s % 60)).padStart(2, "0") + " s";
}

// run ids are UUIDv7: the front is a timestamp shared by runs made together,
// so the distinctive part is the end
function shortId(id) {
  return "…" + id.slice(-8);
}

function json(value) {
  return JSON.stringify(value, null, 2);
}

function banner(message) {
  const node = $("banner");
  node.textContent = message || "";
  node.hidden = !message;
}

function showConnection(status) {
  // back after a break: what changed meanwhile was not streamed
  if (status === "live" && state.ready && state.wasOffline) loadRuns().catch(reportError);
  state.wasOffline = status === "offline";
  const node = $("connection");
  node.textContent = status;
  node.dataset.state = status;
}

function reportError(err) {
  if (err && err.code === "UNAUTHENTICATED") {
    banner("This server needs an API token: paste it above and press Save.");
  } else if (err && err.code === "FORBIDDEN") {
    banner("Your token may not do that: " + err.message);
  } else {
    banner(err && err.message ? err.message : String(err));
  }
}

// A RUNNING run between iterations says when it is due again.
function waitingNote(run) {
  if (!run.waiting) return null;
  if (!run.waiting.until) {
    const what = run.waiting.reason === "CHILDREN" ? "its children" : "its dependencies";
    return el("span", { class: "waiting", "data-testid": "run-waiting" }, "waiting for " + what);
  }
  const until = new Date(run.waiting.until);
  return el("span", { class: "waiting", "data-testid": "run-waiting", title: until.toString() },
    "waiting until " + until.toLocaleTimeString());
}

function statusBadge(run) {
  const badge = el("span", { class: "badge status-" + run.status.toLowerCase(), "data-testid": "run-status" }, run.status);
  const requested = run.requested ? el("span", { class: "requested" }, run.requested.toLowerCase() + " requested") : null;
  const waiting = waitingNote(run);
  if (requested || waiting) return el("span", { class: "status-cell" }, badge, requested, waiting);
  return badge;
}

function progressBar(run) {
  const p = run.progress;
  if (!p) return el("span", { class: "muted" }, TERMINAL.has(run.status) ? "" : "–");
  const percent = p.percent === null || p.percent === undefined ? null : Math.round(p.percent);
  const label = p.display || (percent === null ? String(p.current) : percent + "%");
  const bar = el("div", {
    class: "bar" + (percent === null ? " indeterminate" : ""),
    role: "progressbar",
    "aria-valuemin": "0",
    "aria-valuemax": "100",
    "aria-valuenow": percent === null ? null : String(percent),
    "data-testid": "run-progress",
  });
  const fill = el("div", { class: "fill status-" + run.status.toLowerCase() });
  fill.style.width = (percent === null ? 100 : percent) + "%";
  bar.append(fill);
  return el("div", { class: "progress" }, bar, el("span", { class: "progress-label" }, label));
}

// --- GraphQL documents, built from what this server has -----------------------

function runSelection() {
  return [...state.runFields].join(" ") + " progress { current total units percent display }" +
    (state.hasWaiting ? " waiting { until reason }" : "");
}

async function discover() {
  const data = await client.request(`{
    run: __type(name: "TaskRun") { fields { name } }
    __schema { mutationType { fields { name } } }
  }`);
  const names = new Set(((data.run && data.run.fields) || []).map((f) => f.name));
  for (const name of OPTIONAL_RUN_FIELDS) if (names.has(name)) state.runFields.add(name);
  state.hasHistory = names.has("history");
  state.hasWaiting = names.has("waiting");
  const mutationType = data.__schema.mutationType;
  state.mutations = new Set(((mutationType && mutationType.fields) || []).map((f) => f.name));
}

// --- definitions and the trigger form -------------------------------------------

async function loadDefinitions() {
  const data = await client.request(`{ taskDefinitions { id title description inputSchema paused } }`);
  state.definitions = data.taskDefinitions;
  const filter = $("filter-definition");
  const chosenFilter = filter.value;
  filter.replaceChildren(el("option", { value: "" }, "All definitions"),
    ...state.definitions.map((d) => el("option", { value: d.id }, d.title + " (" + d.id + ")")));
  filter.value = chosenFilter;
  const select = $("trigger-definition");
  const chosen = select.value;
  select.replaceChildren(...state.definitions.map((d) => el("option", { value: d.id }, d.title)));
  if (chosen && state.definitions.some((d) => d.id === chosen)) select.value = chosen;
  renderTriggerFields();
}

function resolveSchema(schema, root) {
  if (schema && schema.$ref && schema.$ref.startsWith("#/$defs/")) {
    return (root.$defs || {})[schema.$ref.slice(8)] || {};
  }
  if (schema && Array.isArray(schema.anyOf)) {
    const concrete = schema.anyOf.filter((s) => s.type !== "null");
    if (concrete.length === 1) {
      return { ...resolveSchema(concrete[0], root), nullable: true, default: schema.default,
               description: schema.description, title: schema.title };
    }
  }
  if (schema && Array.isArray(schema.allOf) && schema.allOf.length === 1) {
    return { ...resolveSchema(schema.allOf[0], root), default: schema.default, description: schema.description };
  }
  return schema || {};
}

function fieldFor(name, raw, root, required) {
  const schema = resolveSchema(raw, root);
  const id = "input-" + name;
  const label = (schema.title || raw.title || name) + (required ? " *" : "");
  let control;
  let kind = "json";
  if (Array.isArray(schema.enum)) {
    kind = "enum";
    control = el("select", { id, name },
      required ? null : el("option", { value: "" }, "—"),
      ...schema.enum.map((v) => el("option", { value: JSON.stringify(v) }, String(v))));
    if (schema.default !== undefined) control.value = JSON.stringify(schema.default);
  } else if (schema.type === "integer" || schema.type === "number") {
    kind = schema.type;
    control = el("input", {
      id, name, type: "number",
      step: schema.type === "integer" ? "1" : "any",
      min: schema.minimum ?? schema.exclusiveMinimum ?? null,
      max: schema.maximum ?? schema.exclusiveMaximum ?? null,
      value: schema.default ?? null,
    });
  } else if (schema.type === "boolean") {
    kind = "boolean";
    control = el("input", { id, name, type: "checkbox" });
    control.checked = Boolean(schema.default);
  } else if (schema.type === "string") {
    kind = "string";
    control = el("input", { id, name, type: "text", value: schema.default ?? null,
                            maxlength: schema.maxLength ?? null });
  } else {
    control = el("textarea", { id, name, rows: "3", placeholder: "JSON" });
    if (schema.default !== undefined) control.value = JSON.stringify(schema.default);
  }
  control.dataset.kind = kind;
  control.setAttribute("data-testid", "input-" + name);
  const hint = raw.description || schema.description;
  return el("div", { class: "field", "data-field": name },
    el("label", { for: id }, label),
    control,
    hint ? el("small", { class: "muted" }, hint) : null,
    el("span", { class: "field-error", "data-testid": "field-error-" + name, hidden: true }));
}

// A paused definition (pauseDefinition): no worker claims its runs. Admins and
// developers may pause or resume it here; a refusal shows in the banner.
function renderDefinitionState(definition) {
  const box = $("definition-state");
  if (!definition) { box.replaceChildren(); return; }
  const action = definition.paused ? "resumeDefinition" : "pauseDefinition";
  const button = el("button", { type: "button", class: "secondary", "data-testid": "definition-toggle" },
    definition.paused ? "Resume definition" : "Pause definition");
  button.addEventListener("click", () => switchDefinition(action, definition.id).catch(reportError));
  box.replaceChildren(
    definition.paused
      ? el("span", { class: "badge status-paused", "data-testid": "definition-paused" }, "Definition paused")
      : null,
    " ", button);
}

async function switchDefinition(action, id) {
  await client.request(`mutation($id: ID!) { ${action}(id: $id) { id paused } }`, { id });
  await loadDefinitions();
}

function currentDefinition() {
  return state.definitions.find((d) => d.id === $("trigger-definition").value) || null;
}

function renderTriggerFields() {
  const definition = currentDefinition();
  const box = $("trigger-fields");
  clearFormErrors();
  renderDefinitionState(definition);
  if (!definition) { box.replaceChildren(); return; }
  $("trigger-description").replaceChildren(...inlineCode(definition.description || ""));
  const schema = definition.inputSchema || {};
  const required = new Set(schema.required || []);
  const properties = schema.properties || {};
  box.replaceChildren(...Object.entries(properties).map(([name, prop]) => fieldFor(name, prop, schema, required.has(name))));
  if (!Object.keys(properties).length) box.append(el("p", { class: "muted" }, "This task takes no input."));
}

function clearFormErrors() {
  for (const node of document.querySelectorAll("#trigger-form .field-error")) { node.hidden = true; node.textContent = ""; }
  for (const node of document.querySelectorAll("#trigger-form .invalid")) node.classList.remove("invalid");
  $("trigger-error").hidden = true;
}

function showFieldError(name, message) {
  const field = document.querySelector(`#trigger-fields [data-field="${CSS.escape(name)}"]`);
  if (!field) return false;
  const node = field.querySelector(".field-error");
  node.textContent = node.textContent ? node.textContent + "; " + message : message;
  node.hidden = false;
  field.classList.add("invalid");
  return true;
}

function showFormError(message) {
  const node = $("trigger-error");
  node.textContent = message;
  node.hidden = false;
}

function readInput() {
  const input = {};
  let ok = true;
  for (const control of document.querySelectorAll("#trigger-fields [data-kind]")) {
    const name = control.name;
    const kind = control.dataset.kind;
    if (kind === "boolean") { input[name] = control.checked; continue; }
    const text = control.value.trim();
    if (text === "") continue; // omitted: the model's default applies
    if (kind === "integer" || kind === "number") input[name] = Number(text);
    else if (kind === "string") input[name] = control.value;
    else {
      try { input[name] = JSON.parse(text); } catch (err) { ok = false; showFieldError(name, "not valid JSON"); }
    }
  }
  return ok ? input : null;
}

async function submitTrigger(event) {
  event.preventDefault();
  clearFormErrors();
  const definition = currentDefinition();
  if (!definition) return;
  const input = readInput();
  if (input === null) return;
  const form = $("trigger-form");
  const variables = { definitionId: definition.id, input };
  const name = form.elements.__name.value.trim();
  if (name) variables.name = name;
  const priority = form.elements.__priority.value.trim();
  if (priority) variables.priority = Number(priority);
  const delay = form.elements.__delay.value.trim();
  if (delay) variables.delaySeconds = Number(delay);
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const data = await client.request(
      `mutation Trigger($definitionId: ID!, $input: JSON, $name: String, $priority: Int, $delaySeconds: Int) {
         triggerTask(definitionId: $definitionId, input: $input, name: $name, priority: $priority, delaySeconds: $delaySeconds) { ${runSelection()} }
       }`, variables);
    banner("");
    const run = data.triggerTask;
    upsertRun(run, true);
    selectRun(run.id);
  } catch (err) {
    if (err.code === "BAD_USER_INPUT" && err.fieldErrors.length) {
      const leftovers = [];
      for (const item of err.fieldErrors) {
        const loc = (item.loc || []).map(String);
        const path = loc[0] === "input" ? loc.slice(1) : loc;
        const field = path[0] === "__root__" ? null : path[0];
        if (!field || !showFieldError(field, item.message)) leftovers.push((path.join(".") || "input") + ": " + item.message);
      }
      showFormError(leftovers.length ? leftovers.join("; ") : "Please correct the fields marked below.");
    } else if (err.code === "UNAUTHENTICATED" || err.code === "FORBIDDEN") {
      reportError(err);
      showFormError(err.message);
    } else {
      showFormError(err.message);
    }
  } finally {
    button.disabled = false;
  }
}

// --- the runs table -------------------------------------------------------------

function currentFilter() {
  const where = {};
  const definition = $("filter-definition").value;
  if (definition) where.definitionId = definition;
  const status = $("filter-status").value;
  if (status) where.status = [status];
  const text = $("filter-text").value.trim();
  return { where, text };
}

const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
let loadSeq = 0;

async function loadRuns() {
  const seq = ++loadSeq;
  const { where, text } = currentFilter();
  let runs;
  let total;
  if (!RUN_ID.test(text) && text) where.nameContains = text;
  state.listWhere = RUN_ID.test(text) ? null : where;
  followRuns(RUN_ID.test(text) ? {} : where); // before the read: no change falls between
  if (RUN_ID.test(text)) {
    const data = await client.request(`query One($id: ID!) { taskRun(id: $id) { ${runSelection()} } }`, { id: text });
    runs = data.taskRun ? [data.taskRun] : [];
    total = runs.length;
  } else {
    const data = await client.request(
      `query Runs($where: TaskRunFilter) { taskRuns(where: $where, first: 50) { totalCount edges { node { ${runSelection()} } } } }`,
      { where });
    runs = data.taskRuns.edges.map((e) => e.node);
    total = data.taskRuns.totalCount;
  }
  if (seq !== loadSeq) return; // a newer load (filters changed) wins
  // keep what a subscription delivered if it is newer than this page
  const known = new Map(state.runs.map((r) => [r.id, r]));
  state.runs = runs.map((r) => {
    const mine = known.get(r.id);
    return mine && TERMINAL.has(mine.status) && !TERMINAL.has(r.status) ? mine : r;
  });
  state.total = total;
  banner("");
  renderRuns();
}

function upsertRun(run, prepend) {
  const index = state.runs.findIndex((r) => r.id === run.id);
  if (index >= 0) state.runs[index] = { ...state.runs[index], ...run };
  else if (prepend) { state.runs.unshift(run); state.total += 1; }
  renderRuns();
  if (state.selected && state.selected.id === run.id) {
    state.selected = { ...state.selected, ...run };
    renderDetail();
  }
}

function renderRuns() {
  const body = $("runs-body");
  body.replaceChildren(...state.runs.map((run) => el("tr", {
      "data-testid": "run-row",
      "data-run-id": run.id,
      "data-status": run.status,
      class: state.selected && state.selected.id === run.id ? "selected" : null,
      tabindex: "0",
    },
    el("td", { class: "mono", title: run.id }, shortId(run.id), run.name ? el("div", { class: "run-name" }, run.name) : null),
    el("td", {}, run.definitionId),
    el("td", {}, statusBadge(run)),
    el("td", {}, progressBar(run)),
    el("td", { class: "muted" }, time(run.createdAt)),
    el("td", { class: "muted num" }, duration(run.durationMs)))));
  $("runs-empty").hidden = state.runs.length > 0;
  $("runs-count").textContent = state.runs.length < state.total ? `${state.runs.length} of ${state.total}` : `${state.total}`;
}

// One stream of every run the list's filter covers (taskRunEvents): a change
// updates its row, a new run is prepended, a run that left the filter goes.
function followRuns(where) {
  const key = JSON.stringify(where);
  if (state.events && state.events.key === key) return;
  if (state.events) state.events.stop();
  const stop = client.subscribe(
    `subscription Events($where: TaskRunFilter) { taskRunEvents(where: $where) { ${runSelection()} } }`,
    { where }, {
      next: (data) => onRunEvent(data.taskRunEvents),
      error: reportError,
      complete: () => { if (state.events && state.events.stop === stop) state.events = null; },
    });
  state.events = { key, stop };
}

function meetsFilter(run, where) {
  return (!where.definitionId || run.definitionId === where.definitionId)
    && (!where.status || where.status.includes(run.status));
}

function onRunEvent(run) {
  const where = state.listWhere;
  if (where && !meetsFilter(run, where)) {
    const before = state.runs.length;
    state.runs = state.runs.filter((r) => r.id !== run.id);
    state.total -= before - state.runs.length;
    renderRuns();
    return;
  }
  upsertRun(run, where !== null);
}

// --- one run in detail -------------------------------------------------------------

function detailQuery() {
  const history = state.hasHistory
    ? "history(first: 20) { attempt status startedAt finishedAt output error { message code } }" : "";
  return `query Detail($id: ID!) { taskRun(id: $id) {
    ${runSelection()} input state output runAt error { message code data } ${history}
    children(first: 20) { totalCount edges { node { id definitionId name status } } }
    logs(first: 500) { edges { node { id level message data iteration createdAt } } }
  } }`;
}

async function selectRun(id) {
  for (const stop of state.detailSubs) stop();
  state.detailSubs = [];
  state.logIds = new Set();
  const oldLogs = document.getElementById("log-lines");
  if (oldLogs) oldLogs.remove();
  const data = await client.request(detailQuery(), { id });
  const run = data.taskRun;
  if (!run) { banner("No run with id " + id); return; }
  state.selected = run;
  renderRuns();
  renderDetail();
  for (const edge of run.logs.edges) appendLog(edge.node);
  if (!TERMINAL.has(run.status)) {
    state.detailSubs.push(client.subscribe(
      `subscription Logs($runId: ID!) { taskLogAdded(runId: $runId) { id level message data iteration createdAt } }`,
      { runId: id }, { next: (d) => { if (state.selected && state.selected.id === id) appendLog(d.taskLogAdded); } }));
    state.detailSubs.push(client.subscribe(
      `subscription Run($id: ID!) { taskRunUpdated(id: $id) { ${runSelection()} input state output error { message code data } } }`,
      { id }, { next: (d) => {
        upsertRun(d.taskRunUpdated, false);
        if (TERMINAL.has(d.taskRunUpdated.status)) refreshDetail(id);
      } }));
  }
}

async function refreshDetail(id) {
  // once ended: history and children as finally written
  const data = await client.request(detailQuery(), { id });
  if (!data.taskRun || !state.selected || state.selected.id !== id) return;
  state.selected = data.taskRun;
  renderDetail();
  for (const edge of data.taskRun.logs.edges) appendLog(edge.node);
}

function section(title, content) {
  return el("div", { class: "detail-section" }, el("h3", {}, title), content);
}

function renderDetail() {
  const run = state.selected;
  const panel = $("detail");
  if (!run) { panel.hidden = true; return; }
  panel.hidden = false;
  $("detail-title").textContent = (run.name || run.definitionId) + " · " + shortId(run.id);
  const actions = ACTIONS.filter((a) => state.mutations.has(a.mutation)).map((a) => {
    const allowed = state.runFields.has(a.allowed) ? Boolean(run[a.allowed]) : a.fallback(run);
    return allowed ? el("button", { type: "button", class: "action action-" + a.name, "data-testid": "action-" + a.name,
                                    onclick: () => control(a, run.id) }, a.label) : null;
  });
  const facts = el("dl", { class: "facts" },
    ...[
      ["Status", statusBadge(run)],
      ["Message", run.statusMessage],
      ["Progress", run.progress ? progressBar(run) : null],
      ["Definition", run.definitionId],
      ["Iterations", run.iterations],
      ["Attempt", run.attempt],
      ["Priority", run.priority],
      ["Created", time(run.createdAt)],
      ["Started", time(run.startedAt)],
      ["Finished", time(run.finishedAt)],
      ["Duration", duration(run.durationMs)],
      ["Parent", run.parentId ? el("a", { href: "#", onclick: (e) => { e.preventDefault(); selectRun(run.parentId); } }, shortId(run.parentId)) : null],
    ].filter(([, v]) => v !== null && v !== undefined && v !== "")
     .flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  const parts = [el("div", { class: "actions" }, actions), facts];
  if (run.error) {
    parts.push(section("Error", el("pre", { class: "error-box", "data-testid": "run-error" },
      (run.error.code ? run.error.code + ": " : "") + run.error.message + (run.error.data ? "\n" + json(run.error.data) : ""))));
  }
  parts.push(section("Input", el("pre", { "data-testid": "run-input" }, json(run.input ?? {}))));
  if (run.state && Object.keys(run.state).length) parts.push(section("State", el("pre", {}, json(run.state))));
  if (run.output !== null && run.output !== undefined) parts.push(section("Output", el("pre", { "data-testid": "run-output" }, json(run.output))));
  if (run.history && run.history.length) {
    parts.push(section("History", el("table", { class: "mini" },
      el("tr", {}, el("th", {}, "Attempt"), el("th", {}, "Status"), el("th", {}, "Finished"), el("th", {}, "Result")),
      ...run.history.map((h) => el("tr", {}, el("td", {}, h.attempt), el("td", {}, el("span", { class: "badge status-" + h.status.toLowerCase() }, h.status)),
        el("td", {}, time(h.finishedAt)), el("td", { class: "mono" }, h.error ? h.error.message : JSON.stringify(h.output)))))));
  }
  if (run.children && run.children.totalCount) {
    parts.push(section(`Children (${run.children.totalCount})`, el("ul", { class: "children" },
      ...run.children.edges.map((e) => el("li", {}, el("a", { href: "#", onclick: (ev) => { ev.preventDefault(); selectRun(e.node.id); } },
        shortId(e.node.id)), " ", e.node.definitionId, " ", el("span", { class: "badge status-" + e.node.status.toLowerCase() }, e.node.status))))));
  }
  const logBox = document.getElementById("log-lines") || el("ol", { id: "log-lines", class: "logs", "data-testid": "run-logs" });
  parts.push(section(TERMINAL.has(run.status) ? "Logs" : "Logs (live)", logBox));
  $("detail-body").replaceChildren(...parts);
}

// Markdown's inline code (`start`) as <code>; everything else as plain text.
function inlineCode(text) {
  return text.split("`").map((part, i) => (i % 2 === 1 ? el("code", {}, part) : part));
}

// A log line's data as people read it (as the CLI's render.log_data_parts):
// short JSON inline; multi-line strings (a traceback) and long JSON as blocks
// with real line breaks.
function logData(data) {
  if (data === null || data === undefined) return [];
  const blocks = [];
  let rest = data;
  if (typeof data === "object" && !Array.isArray(data)) {
    rest = {};
    for (const [key, value] of Object.entries(data)) {
      if (typeof value === "string" && value.includes("\n")) {
        blocks.push(el("pre", { class: "log-block", "data-testid": "log-block" }, key + ":\n" + value));
      } else {
        rest[key] = value;
      }
    }
    if (Object.keys(rest).length === 0 && blocks.length) return blocks;
  } else if (typeof data === "string" && data.includes("\n")) {
    return [el("pre", { class: "log-block", "data-testid": "log-block" }, data)];
  }
  const flat = JSON.stringify(rest);
  if (flat.length <= 80) return [el("span", { class: "muted" }, " " + flat), ...blocks];
  return [el("pre", { class: "log-block", "data-testid": "log-block" }, JSON.stringify(rest, null, 2)), ...blocks];
}

function appendLog(line) {
  if (state.logIds.has(line.id)) return;
  state.logIds.add(line.id);
  const box = document.getElementById("log-lines");
  if (!box) return;
  const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 8;
  box.append(el("li", { class: "log level-" + line.level.toLowerCase() },
    el("span", { class: "muted" }, time(line.createdAt)), " ",
    el("span", { class: "level" }, line.level), " ",
    el("span", { class: "muted" }, "#" + line.iteration), " ",
    line.message,
    ...logData(line.data)));
  if (atBottom) box.scrollTop = box.scrollHeight;
}

async function control(action, id) {
  try {
    const data = await client.request(`mutation Control($id: ID!) { ${action.mutation}(id: $id) { ${runSelection()} } }`, { id });
    const run = data[action.mutation];
    banner("");
    upsertRun(run, run.id !== id);
    // selecting again (re)starts the live log stream of a run that is back in play
    await selectRun(run.id);
  } catch (err) {
    reportError(err);
  }
}

// --- start --------------------------------------------------------------------------

async function start() {
  try {
    await discover();
    await loadDefinitions();
    await loadRuns();
    state.ready = true;
    client.connect();
    document.body.dataset.ready = "true";
  } catch (err) {
    reportError(err);
  }
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

function wire() {
  $("token").value = state.token;
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = $("token").value.trim();
    if (state.token) localStorage.setItem(TOKEN_KEY, state.token);
    else localStorage.removeItem(TOKEN_KEY);
    banner("");
    client.reconnect();
    start();
  });
  $("trigger-definition").addEventListener("change", renderTriggerFields);
  $("trigger-form").addEventListener("submit", submitTrigger);
  $("filters").addEventListener("submit", (e) => e.preventDefault());
  $("filter-definition").addEventListener("change", () => loadRuns().catch(reportError));
  $("filter-status").addEventListener("change", () => loadRuns().catch(reportError));
  $("filter-text").addEventListener("input", debounce(() => loadRuns().catch(reportError), 250));
  $("runs-body").addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-run-id]");
    if (row) selectRun(row.dataset.runId).catch(reportError);
  });
  $("runs-body").addEventListener("keydown", (event) => {
    const row = event.target.closest("tr[data-run-id]");
    if (row && event.key === "Enter") selectRun(row.dataset.runId).catch(reportError);
  });
  $("detail-close").addEventListener("click", () => {
    for (const stop of state.detailSubs) stop();
    state.detailSubs = [];
    state.selected = null;
    renderDetail();
    renderRuns();
  });
}

wire();
start();
