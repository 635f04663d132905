// Season planning console: extract -> edit parameters -> run -> live agent cards -> plan.
// Plain browser JavaScript, no build step, no network beyond this app's own API and WebSocket.
"use strict";

const API = "/api/orchestrator";
const AGENTS = ["Demand Agent", "Inventory Agent", "Pricing Agent"];
const RANK = { pending: 0, running: 1, completed: 2, failed: 2 };
const $ = (id) => document.getElementById(id);

const state = {
  sessionId: null, workflowId: null, parameters: null, socket: null, backoff: 500,
  lastSequence: 0, seen: new Set(), agents: {}, finished: false, pollTimer: null,
};

// ---------------------------------------------------------------- small DOM helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value; else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}
const fmt = (n, digits = 0) => (n == null ? "-" : Number(n).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }));
const pct = (x, digits = 0) => (x == null ? "-" : `${(x * 100).toFixed(digits)}%`);

function table(node, headers, rows, totalRow) {
  node.replaceChildren(el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", {}, h)))));
  const body = el("tbody");
  for (const row of rows) body.append(el("tr", {}, ...row.map((c) => el("td", {}, c))));
  if (totalRow) body.append(el("tr", { class: "total" }, ...totalRow.map((c) => el("td", {}, c))));
  node.append(body);
}

// ---------------------------------------------------------------- errors

class ApiError extends Error {
  constructor(body) { super(body.message); this.body = body; }
}

async function api(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method, headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    throw new ApiError({ error_type: "CONNECTION_ERROR", message: `Cannot reach the app: ${err.message}`, details: {}, suggestions: ["Is `python -m localdev serve` running?"], request_id: "-" });
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    throw new ApiError(data && data.error_type ? data : {
      error_type: "UNEXPECTED_RESPONSE", message: `${method} ${path} answered HTTP ${response.status}`,
      details: {}, suggestions: [], request_id: response.headers.get("x-request-id") || "-",
    });
  }
  return data;
}

function showError(err) {
  const body = err instanceof ApiError ? err.body : { error_type: "CLIENT_ERROR", message: String(err), details: {}, suggestions: [] };
  const box = $("error");
  const parts = [el("strong", {}, `${body.error_type}: `), body.message];
  const problems = (body.details && body.details.validation_errors) || [];
  const missing = (body.details && body.details.missing) || [];
  const items = [
    ...problems.map((p) => `${p.field}: ${p.message}`),
    ...missing.map((m) => `missing: ${m}`),
    ...(body.suggestions || []),
  ];
  if (items.length) parts.push(el("ul", {}, ...items.map((i) => el("li", {}, i))));
  if (body.request_id) parts.push(el("div", {}, el("code", {}, `request id ${body.request_id}`)));
  box.replaceChildren(...parts);
  box.classList.remove("hidden");
}
const clearError = () => $("error").classList.add("hidden");

// ---------------------------------------------------------------- parameters form

function addDays(isoDate, days) {
  const d = new Date(`${isoDate}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function fillForm(params) {
  const form = $("params");
  for (const input of form.elements) {
    if (input.name && params[input.name] != null) input.value = params[input.name];
  }
  $("reasoning").textContent = [
    params.extraction_reasoning, params.confidence_score != null ? `confidence ${pct(params.confidence_score)}` : "",
  ].filter(Boolean).join(" - ");
  updateEnd();
}

function updateEnd() {
  const form = $("params");
  const weeks = parseInt(form.elements.forecast_horizon_weeks.value, 10);
  const start = form.elements.season_start_date.value;
  form.elements.season_end_date.value = start && weeks ? addDays(start, 7 * weeks) : "";
}

function readForm() {
  const f = $("params").elements;
  const num = (name, parse) => (f[name].value === "" ? undefined : parse(f[name].value));
  const params = {
    forecast_horizon_weeks: num("forecast_horizon_weeks", (v) => parseInt(v, 10)),
    season_start_date: f.season_start_date.value,
    replenishment_strategy: f.replenishment_strategy.value,
    dc_holdback_percentage: num("dc_holdback_percentage", parseFloat),
    markdown_checkpoint_week: num("markdown_checkpoint_week", (v) => parseInt(v, 10)),
    markdown_threshold: num("markdown_threshold", parseFloat),
    unit_target: num("unit_target", (v) => parseInt(v, 10)),
  };
  for (const key of ["extraction_reasoning", "confidence_score"]) {
    if (state.parameters && state.parameters[key] != null) params[key] = state.parameters[key];
  }
  return Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
}

// ---------------------------------------------------------------- agent cards

function resetAgents() {
  state.agents = {};
  const root = $("agents");
  root.replaceChildren();
  for (const name of AGENTS) {
    state.agents[name] = { status: "pending", progress: 0, message: "Waiting", result: null };
    root.append(el("article", { class: "card pending", "data-agent": name },
      el("header", {}, el("h4", {}, name), el("span", { class: "status" }, "pending")),
      el("div", { class: "bar" }, el("div")),
      el("div", { class: "message" }, "Waiting"),
      el("dl")));
  }
}

function drawAgent(name) {
  const agent = state.agents[name];
  const card = document.querySelector(`[data-agent="${name}"]`);
  card.className = `card ${agent.status}`;
  card.querySelector(".status").textContent = agent.status;
  card.querySelector(".bar > div").style.width = `${agent.progress}%`;
  card.querySelector(".message").textContent = agent.error || agent.message;
  const dl = card.querySelector("dl");
  dl.replaceChildren();
  for (const [key, value] of Object.entries(agent.result || {})) {
    if (value == null || typeof value === "object") continue;
    dl.append(el("dt", {}, key.replaceAll("_", " ")), el("dd", {}, summaryValue(key, value)));
  }
}

// Shares and rates (fractions 0-1 in the summaries) read as percentages, counts as numbers.
const FRACTIONS = /(_pct|_percentage|sell_through|confidence|wape)$/;
function summaryValue(key, value) {
  if (typeof value !== "number") return value;
  if (FRACTIONS.test(key)) return pct(value, 1);
  return Number.isInteger(value) ? fmt(value) : fmt(value, 2);
}

function advance(agent, status) {
  if (RANK[status] > RANK[agent.status] || status === "failed") agent.status = status;
}

// One message, applied once (by sequence); progress never goes backwards.
function applyMessage(msg) {
  if (!msg || typeof msg !== "object") return;
  if (msg.workflow_id && state.workflowId && msg.workflow_id !== state.workflowId) return;
  if (msg.sequence != null) {
    if (state.seen.has(msg.sequence)) return;
    state.seen.add(msg.sequence);
    const gap = msg.sequence > state.lastSequence + 1;
    state.lastSequence = Math.max(state.lastSequence, msg.sequence);
    if (gap && state.workflowId) catchUp();
  }
  if (msg.type === "heartbeat" || !state.agents[msg.agent_name]) return;
  const agent = state.agents[msg.agent_name];
  if (msg.type === "agent_status") advance(agent, msg.status);
  else if (msg.type === "progress") {
    advance(agent, "running");
    // A late progress message (a catch-up after a reconnect) never overwrites a final state.
    const finished = agent.status === "completed" || agent.status === "failed";
    if (!finished && msg.progress >= agent.progress) { agent.progress = msg.progress; agent.message = msg.message; }
  } else if (msg.type === "complete") {
    advance(agent, "completed"); agent.progress = 100; agent.result = msg.result; agent.message = "Done";
  } else if (msg.type === "error") {
    advance(agent, "failed"); agent.error = msg.error_message; agent.errorType = msg.error_type;
  }
  if (agent.status === "completed") agent.progress = 100;
  drawAgent(msg.agent_name);
  checkFinished();
}

// ---------------------------------------------------------------- WebSocket + catch-up

function setConnection(text, cls) {
  const pill = $("connection");
  pill.textContent = text;
  pill.className = `pill ${cls}`;
}

async function connect() {
  const info = await api("GET", `${API}/negotiate?session_id=${encodeURIComponent(state.sessionId)}`);
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(info.url);
    let opened = false;
    socket.onopen = () => { opened = true; state.socket = socket; state.backoff = 500; setConnection("live", "live"); resolve(socket); };
    socket.onmessage = (event) => {
      try { applyMessage(JSON.parse(event.data)); } catch (err) { console.warn("ignoring frame", err); }
    };
    socket.onclose = () => {
      if (!opened) { reject(new Error("WebSocket connection refused")); return; }
      if (!state.finished) reconnect();
    };
  });
}

async function reconnect() {
  setConnection(`reconnecting in ${(state.backoff / 1000).toFixed(1)}s`, "retry");
  await new Promise((r) => setTimeout(r, state.backoff));
  state.backoff = Math.min(state.backoff * 2, 10000);
  if (state.finished) return;
  try {
    await connect();
    await catchUp();
  } catch (err) {
    reconnect();
  }
}

async function catchUp() {
  if (!state.workflowId) return;
  try {
    const data = await api("GET", `${API}/workflows/${encodeURIComponent(state.workflowId)}/events?after=${state.lastSequence}`);
    const events = (data && data.events) || [];
    events.sort((a, b) => (a.sequence || 0) - (b.sequence || 0)).forEach(applyMessage);
  } catch (err) {
    console.warn("catch-up failed", err);
  }
}

async function pollStatus() {
  if (state.finished || !state.workflowId) return;
  try {
    const wf = await api("GET", `${API}/workflows/${encodeURIComponent(state.workflowId)}`);
    const status = String(wf.runtime_status || wf.runtimeStatus || "").toLowerCase();
    if (["completed", "failed", "terminated", "canceled"].includes(status)) {
      await catchUp();
      if (!state.finished) finish(status === "completed" ? null : {
        error_type: "WORKFLOW_FAILED", message: `The workflow ended ${status}.`, details: {}, suggestions: [], request_id: state.workflowId,
      });
    }
  } catch (err) {
    console.warn("status poll failed", err);
  }
}

function checkFinished() {
  if (state.finished) return;
  const agents = Object.values(state.agents);
  const failed = AGENTS.find((n) => state.agents[n].status === "failed");
  if (failed) {
    const a = state.agents[failed];
    finish({ error_type: a.errorType || "AGENT_EXECUTION_ERROR", message: `${failed} failed: ${a.error || "unknown error"}`, details: {}, suggestions: [], request_id: state.workflowId || "-" });
  } else if (agents.every((a) => a.status === "completed")) {
    finish(null);
  }
}

async function finish(error) {
  state.finished = true;
  clearInterval(state.pollTimer);
  if (state.socket) state.socket.close();
  setConnection("done", "idle");
  $("run").disabled = false;
  if (error) showError(new ApiError(error));
  await showResults();
}

// ---------------------------------------------------------------- results

async function fetchResult(agent, path) {
  if (state.agents[agent].status !== "completed") return null;
  try { return await api("GET", `${path}/${encodeURIComponent(state.workflowId)}`); } catch (err) { showError(err); return null; }
}

async function showResults() {
  const [forecast, inventory, pricing] = await Promise.all([
    fetchResult("Demand Agent", "/api/forecasts"),
    fetchResult("Inventory Agent", "/api/allocations"),
    fetchResult("Pricing Agent", "/api/markdowns"),
  ]);
  if (!forecast && !inventory && !pricing) return;
  $("results").classList.remove("hidden");
  const kpis = [];
  if (forecast) kpis.push(["Category", forecast.category_id], ["Total demand", fmt(forecast.total_demand)], ["Model", forecast.model_used]);
  if (inventory) kpis.push(["Manufacture", fmt(inventory.manufacturing_qty)]);
  if (pricing) kpis.push(["Sell-through", pct(pricing.expected_sell_through, 1)], ["Revenue", fmt(pricing.expected_revenue)]);
  $("summary").replaceChildren(...kpis.map(([k, v]) => el("div", { class: "kpi" }, el("b", {}, v), el("span", {}, k))));
  if (forecast) {
    drawChart($("chart"), forecast.forecast_by_week);
    table($("forecast-table"), ["Week", "Starts", "Units", "80% low", "80% high"],
      forecast.forecast_by_week.map((w, i) => [i + 1, w.week_start, fmt(w.units), fmt(w.lower), fmt(w.upper)]),
      ["", "Total", fmt(forecast.total_demand), "", ""]);
  }
  if (inventory) {
    table($("clusters-table"), ["Cluster", "Stores", "Share", "Units"],
      inventory.clusters.map((c) => [c.cluster_label, c.stores.length, pct(c.allocation_percentage, 1), fmt(c.total_units)]));
    const stores = inventory.clusters.flatMap((c) => c.stores).sort((a, b) => b.initial_allocation - a.initial_allocation);
    table($("allocations-table"), ["", "Units"], [
      ["Stores", fmt(stores.length)],
      ["Largest store", stores.length ? `${stores[0].store_id}: ${fmt(stores[0].initial_allocation)}` : "-"],
      ["Initial allocation", fmt(inventory.initial_allocation_total)],
      ["DC holdback", fmt(inventory.dc_holdback_total)],
      ["Replenishment shipments", fmt(inventory.replenishment_schedule.length)],
    ], ["Manufacturing", fmt(inventory.manufacturing_qty)]);
  }
  if (pricing) {
    table($("markdowns-table"), ["Week", "Starts", "Markdown", "Price"],
      pricing.markdowns.map((m) => [m.week_number, m.week_start, pct(m.markdown_pct), m.price.toFixed(2)]));
  }
}

// The smallest round axis step (1, 2, 2.5 or 5 times a power of ten) of at least `raw`.
function niceStep(raw) {
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw);
}

// The forecast line with its 80 % interval band, as inline SVG.
function drawChart(node, weeks) {
  const W = 900, H = 260, L = 56, R = 16, T = 14, B = 34;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Demand forecast by week with 80% interval");
  const add = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text != null) n.textContent = text;
    svg.append(n);
    return n;
  };
  const step = niceStep(Math.max(1, ...weeks.map((w) => w.upper)) / 4);
  const max = step * 4;
  const x = (i) => L + (weeks.length === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (weeks.length - 1));
  const y = (v) => T + (H - T - B) * (1 - v / max);
  for (let k = 0; k <= 4; k++) {
    const v = step * k;
    add("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "axis", "stroke-dasharray": k ? "3 4" : "" });
    add("text", { x: L - 8, y: y(v) + 4, "text-anchor": "end" }, fmt(v));
  }
  const upper = weeks.map((w, i) => `${x(i)},${y(w.upper)}`);
  const lower = weeks.map((w, i) => `${x(i)},${y(w.lower)}`).reverse();
  add("polygon", { points: [...upper, ...lower].join(" "), class: "band" });
  add("polyline", { points: weeks.map((w, i) => `${x(i)},${y(w.units)}`).join(" "), class: "line" });
  weeks.forEach((w, i) => {
    add("circle", { cx: x(i), cy: y(w.units), r: 3, class: "dot" });
    if (weeks.length <= 16 || i % Math.ceil(weeks.length / 12) === 0) {
      add("text", { x: x(i), y: H - 12, "text-anchor": "middle" }, w.week_start.slice(5));
    }
  });
  node.replaceChildren(svg);
}

// ---------------------------------------------------------------- actions

async function onExtract() {
  clearError();
  const button = $("extract");
  button.disabled = true;
  try {
    state.parameters = await api("POST", `${API}/extract-parameters`, { strategy_description: $("strategy").value.trim() });
    fillForm(state.parameters);
    $("params-panel").classList.remove("hidden");
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
  }
}

async function onRun(event) {
  event.preventDefault();
  clearError();
  Object.assign(state, { workflowId: null, lastSequence: 0, seen: new Set(), finished: false, backoff: 500 });
  state.sessionId = (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`).replace(/[^A-Za-z0-9_-]/g, "");
  $("results").classList.add("hidden");
  $("run").disabled = true;
  resetAgents();
  try {
    await connect();
    const body = { session_id: state.sessionId, parameters: readForm() };
    const category = $("category").value.trim();
    if (category) body.category_id = category;
    const started = await api("POST", `${API}/run-workflow`, body);
    state.workflowId = started.workflow_id;
    await catchUp();
    state.pollTimer = setInterval(pollStatus, 3000);
  } catch (err) {
    state.finished = true;
    if (state.socket) state.socket.close();
    setConnection("offline", "idle");
    $("run").disabled = false;
    showError(err instanceof ApiError ? err : new ApiError({ error_type: "WEBSOCKET_CONNECTION_ERROR", message: err.message, details: {}, suggestions: ["Check that the Web PubSub emulator is running."], request_id: "-" }));
  }
}

// The categories that can be planned, as suggestions for the category box.
async function loadCategories() {
  try {
    const { categories, default_category_id: fallback } = await api("GET", "/api/categories");
    $("categories").replaceChildren(...categories.map((c) => el("option", { value: c.category_id }, c.name)));
    if (fallback) $("category").placeholder = `optional (default: ${fallback})`;
  } catch (err) {
    // No data yet: the run itself reports DATA_NOT_FOUND with how to load it.
  }
}

$("extract").addEventListener("click", onExtract);
$("run").addEventListener("click", onRun);
$("params").addEventListener("input", updateEnd);
resetAgents();
loadCategories();
