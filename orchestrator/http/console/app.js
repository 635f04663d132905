// Season planning console: describe -> check the details -> run -> live agent cards -> the plan.
// Plain browser JavaScript, no build step, no network beyond this app's own API and WebSocket.
"use strict";

const API = "/api/orchestrator";
const AGENTS = ["Demand Agent", "Inventory Agent", "Pricing Agent"];
const RANK = { pending: 0, running: 1, completed: 2, failed: 2, cancelled: 2, skipped: 2 };
const TERMINAL = ["completed", "failed", "terminated", "canceled"];
const $ = (id) => document.getElementById(id);

const state = {
  sessionId: null, workflowId: null, parameters: null,
  socket: null, backoff: 500, lastSequence: 0, seen: new Set(), agents: {}, finished: true,
  settling: false, pollTimer: null, categories: {}, defaultCategory: null, categoryId: null,
  errorShown: false, warnings: { demand: [], inventory: [], targetCheck: null },
};

// ---------------------------------------------------------------- formatting

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null) continue;
    if (key === "class") node.className = value; else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}
const units = (n) => (n == null ? "–" : Math.round(Number(n)).toLocaleString("en-US"));
const pct = (x, digits = 0) => (x == null ? "–" : `${(Number(x) * 100).toFixed(digits)}%`);
function currencyOf(categoryId) {
  const category = state.categories[categoryId];
  return (category && category.currency) || "USD";
}
function money(x, currency, digits = 2) {
  if (x == null) return "–";
  try {
    return Number(x).toLocaleString("en-US", { style: "currency", currency, minimumFractionDigits: digits, maximumFractionDigits: digits });
  } catch {
    return `${Number(x).toFixed(digits)} ${currency}`;
  }
}
const cover = (weeks) => (weeks == null ? "–" : `${Number(weeks).toFixed(1)} wk`);
const change = (now, before) => (before ? `${now >= before ? "+" : ""}${((now / before - 1) * 100).toFixed(1)}%` : "–");
const longDate = (iso) => (iso ? new Date(`${iso}T00:00:00Z`).toLocaleDateString("en-US", { month: "short", day: "numeric", year: "numeric", timeZone: "UTC" }) : "–");

// ---------------------------------------------------------------- plain-language labels

const FIELD_LABELS = {
  forecast_horizon_weeks: "season length", season_start_date: "season start", season_end_date: "season end",
  replenishment_strategy: "replenishment", dc_holdback_percentage: "DC holdback", unit_target: "unit target",
  markdown_checkpoint_week: "markdown checkpoint", markdown_threshold: "markdown sell-through threshold",
  strategy_description: "Season description", category_id: "Category", session_id: "Session",
};
const SOURCE_LABELS = {
  stated: "from your text", inferred: "inferred from your text — please check", computed: "computed from start and length",
  not_mentioned: "not in your text", edited: "edited by you",
};
const ERROR_TITLES = {
  PARAMETER_EXTRACTION_ERROR: "Some plan details are missing from the description",
  INVALID_PARAMETERS: "Some values need fixing",
  DATA_NOT_FOUND: "The data needed for this plan is not there",
  CONTEXT_ASSEMBLY_ERROR: "The planning data could not be read",
  AGENT_TIMEOUT: "An agent took too long and was stopped",
  AGENT_EXECUTION_ERROR: "An agent could not finish",
  LANGUAGE_MODEL_UNAVAILABLE: "The language model is unavailable right now",
  WORKFLOW_NOT_FOUND: "That plan no longer exists",
  ORCHESTRATION_UNAVAILABLE: "The planning service is not available right now",
  WORKFLOW_FAILED: "The plan stopped before it finished",
  CONNECTION_ERROR: "The app cannot be reached",
  WEBSOCKET_CONNECTION_ERROR: "Live updates are unavailable",
};
// The agents' summaries, in words a planner uses; `kind` picks the number format.
const SUMMARY_LABELS = {
  total_demand: ["Forecast demand", "units"], safety_stock_pct: ["Safety stock", "pct"],
  confidence: ["Forecast confidence", "pct"], model_used: ["Forecasting method", "text"],
  weeks: ["Weeks forecast", "int"], wape: ["Typical forecast error", "pct"],
  manufacturing_qty: ["Units to manufacture", "units"], initial_allocation_total: ["Shipped to stores at launch", "units"],
  dc_holdback_total: ["Held back at the DC", "units"], clusters: ["Store groups", "int"], stores: ["Stores", "int"],
  replenishment_shipments: ["Replenishment weeks", "int"],
  first_markdown_week: ["First markdown", "week"], first_markdown_pct: ["First markdown depth", "pct"],
  expected_sell_through: ["Expected sell-through", "pct"], expected_revenue: ["Expected revenue", "money"],
  leftover_units: ["Units left over", "units"],
  last_year_total: ["Same weeks last year", "units"], launch_weeks_of_supply: ["Weeks of supply at launch", "cover"],
  gross_margin: ["Gross margin", "money"], gross_margin_pct: ["Gross margin %", "pct"],
};

// One definition per figure, the API's and the CLI's too (shared/glossary.py; a test holds
// this copy to it word for word).
const GLOSSARY = /* glossary */ {
  "demand": {
    "label": "Demand",
    "definition": "Units the stores would sell with stock enough: the forecast with any markdown's uplift (for weeks already sold, what really sold)."
  },
  "lost_sales": {
    "label": "Lost sales",
    "definition": "Demand a store could not serve because it had no stock, summed over the stores."
  },
  "store_sell_through": {
    "label": "Sell-through (stores)",
    "definition": "Units the stores sold / units the stores received, cumulative to the week."
  },
  "dc_sell_through": {
    "label": "Sell-through (DC)",
    "definition": "Units the DC delivered to the stores / units the DC received from the vendor, cumulative to the week."
  },
  "chain_sell_through": {
    "label": "Sell-through (chain)",
    "definition": "Units the stores sold / units the chain received from the vendor (the buy), cumulative to the week."
  },
  "store_weeks_of_supply": {
    "label": "Weeks of supply (stores)",
    "definition": "The stores' closing stock / the coming weeks' demand, counted week by week."
  },
  "dc_weeks_of_supply": {
    "label": "Weeks of supply (DC)",
    "definition": "The DC's closing stock / its planned deliveries to the stores in the coming weeks, counted week by week; none when no delivery is planned."
  },
  "average_inventory_cost": {
    "label": "Average inventory at cost",
    "definition": "The mean of the weekly closing stock (stores + DC), at unit cost."
  },
  "gmroi": {
    "label": "GMROI (season)",
    "definition": "Gross margin / average inventory at cost, over the season's weeks."
  },
  "gmroi_annualised": {
    "label": "GMROI (annualised)",
    "definition": "GMROI (season) x 52 / the season's weeks: the same return at a year's pace."
  },
  "buy_plan": {
    "label": "Buy plan",
    "definition": "Vendor receipts into the DC: when they land, how many units, and the date to order by (the landing week less the category's vendor lead time)."
  },
  "store_deliveries": {
    "label": "Store deliveries",
    "definition": "Units the DC delivers to the stores each week: the launch, then the replenishment policy's top-ups."
  },
  "stranded_units": {
    "label": "Stranded at the DC",
    "definition": "Units the DC held, not committed to a delivery, at the end of weeks in which stores lost sales (each week at most that week's lost sales)."
  },
  "expected_sell_through": {
    "label": "Expected sell-through",
    "definition": "Units the season is expected to sell / units bought (the chain's sell-through at the season's end)."
  },
  "checkpoint_sell_through": {
    "label": "Sell-through at the checkpoint",
    "definition": "The chain's sell-through at the markdown checkpoint week, read from the stock flow."
  }
} /* end glossary */;
const define = (key) => GLOSSARY[key].definition;

// What each figure means, for a tooltip where it is shown and a sentence under the tables.
const FIGURE_NOTES = {
  total_demand: "Units the forecast expects to sell over the season at full price.",
  safety_stock_pct: "Extra stock, as a share of forecast demand, for a 95% chance of not running out between replenishments.",
  confidence: "How well the forecasting method did on past seasons: 100% less its typical error, lower when history is short.",
  model_used: "The forecasting method the backtest chose; the sentence under the chart says what it does.",
  wape: "Typical forecast error on past seasons: absolute errors as a share of actual sales (WAPE).",
  last_year_total: "Units sold in the same season weeks one year earlier.",
  launch_weeks_of_supply: "Weeks of the season's forecast the launch shipment covers.",
  sell_through: define("store_sell_through"),
  weeks_of_supply: define("store_weeks_of_supply"),
  gross_margin: "Revenue less the cost of the units sold.",
  gross_margin_pct: "Gross margin as a share of revenue.",
  markdown_cost: "(Full price − price paid) × units sold marked down.",
  salvage_value: "What leftovers fetch at the category's salvage fraction of unit cost.",
  gmroi: define("gmroi"),
  gmroi_annualised: define("gmroi_annualised"),
  lost_sales: define("lost_sales"),
  expected_sell_through: define("expected_sell_through"),
};

function summaryValue(kind, value) {
  if (kind === "units" || kind === "int") return units(value);
  if (kind === "pct") return pct(value, 1);
  if (kind === "money") return money(value, currencyOf(state.categoryId), 0);
  if (kind === "week") return value == null ? "none planned" : `week ${value}`;
  if (kind === "cover") return cover(value);
  return String(value);
}

// ---------------------------------------------------------------- errors and notices

class ApiError extends Error {
  constructor(body) { super(body.message); this.body = body; }
}

// In Azure, Easy Auth answers a call without a valid session with 401 (it does not redirect API
// calls), so the page signs in again itself and comes back here. At most once a minute: a 401
// that signing in does not cure is shown as an error instead of looping through the login page.
const SIGN_IN_PATH = "/.auth/login/aad";
const SIGN_IN_KEY = "signInRedirectAt";

function signInAgain() {
  const last = Number(window.sessionStorage.getItem(SIGN_IN_KEY) || 0);
  if (Date.now() - last < 60000) return false;
  window.sessionStorage.setItem(SIGN_IN_KEY, String(Date.now()));
  const back = window.location.pathname + window.location.search;
  window.location.assign(`${SIGN_IN_PATH}?post_login_redirect_uri=${encodeURIComponent(back)}`);
  return true;
}

// A 503 with Retry-After (the database is busy for a moment) is asked again after the wait it
// names, up to RETRY_503_TIMES; a 429 (the planner already has MAX_RUNNING_PLANS_PER_USER plans
// running; nothing was started) likewise up to RETRY_429_TIMES, with the app's own words shown
// while the console waits. Any other answer is returned as it came.
const RETRY_503_TIMES = 5;
const RETRY_429_TIMES = 24;
async function fetchRetrying(path, options) {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(path, options);
    const wait = Number(response.headers.get("Retry-After"));
    const times = { 503: RETRY_503_TIMES, 429: RETRY_429_TIMES }[response.status];
    if (times === undefined || !Number.isFinite(wait) || wait < 0 || attempt >= times) return response;
    if (response.status === 429) await sayWhyWeWait(response, wait);
    await new Promise((r) => setTimeout(r, Math.min(wait, 30) * 1000));
  }
}
async function sayWhyWeWait(response, wait) {
  let message = "You have as many plans running as one planner may run at once.";
  try { message = (await response.clone().json()).message || message; } catch { /* keep the default */ }
  showNotice("Waiting for one of your plans to finish", `${message} The console asks again by itself.`);
}

async function api(method, path, body) {
  let response;
  try {
    response = await fetchRetrying(path, {
      method, headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch {
    throw new ApiError({ error_type: "CONNECTION_ERROR", message: "The app did not answer.", details: {}, suggestions: ["Check that `python -m localdev serve` (or `make run`) is still running, then try again."] });
  }
  if (response.status === 401 && signInAgain()) {
    throw new ApiError({ error_type: "SIGN_IN_REQUIRED", message: "Your sign-in has ended; taking you to the sign-in page.", details: {}, suggestions: [] });
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    if (response.status === 401 && !(data && data.error_type)) {
      throw new ApiError({
        error_type: "SIGN_IN_REQUIRED", message: "You are not signed in.", details: {},
        suggestions: [`Sign in again at ${SIGN_IN_PATH}, then reload this page.`],
        request_id: response.headers.get("x-request-id"),
      });
    }
    throw new ApiError(data && data.error_type ? data : {
      error_type: "UNEXPECTED_RESPONSE", message: `The app answered with HTTP ${response.status}.`,
      details: {}, suggestions: ["Try again; if it keeps happening, check the app's log."],
      request_id: response.headers.get("x-request-id"),
    });
  }
  return data;
}

const fieldLabel = (name) => FIELD_LABELS[name] || String(name).replaceAll("_", " ");
const capital = (text) => text.charAt(0).toUpperCase() + text.slice(1);

// One error at a time, in words: a title, what went wrong, what to do; the reference id last.
function showError(body, agentName) {
  state.errorShown = true;
  const details = body.details || {};
  const title = agentName
    ? `${agentName} ${body.error_type === "AGENT_TIMEOUT" ? "took too long and was stopped" : "could not finish"}`
    : ERROR_TITLES[body.error_type] || "Something went wrong";
  const fields = details.validation_errors || [];
  // Field problems are listed one by one in words; suggestions that point at the response's
  // own structure (written for API clients) are left to them.
  const items = [
    ...fields.map((p) => `${capital(fieldLabel(p.field))}: ${p.message}`),
    ...Object.entries(details.invalid_parameters || {}).map(([f, m]) => `${capital(fieldLabel(f))}: ${m}`),
    ...(body.suggestions || []).filter((s) => !s.includes("details.")),
    ...inferredFieldsToCheck(body),
  ];
  const parts = [el("strong", {}, title)];
  if (!fields.length) parts.push(el("p", {}, body.message));
  if (items.length) parts.push(el("ul", {}, ...items.map((i) => el("li", {}, i))));
  if (body.request_id && body.request_id !== "-") parts.push(el("small", { class: "reference" }, `Reference: ${body.request_id}`));
  $("error").replaceChildren(...parts);
  $("error").classList.remove("hidden");
}
// A plan that failed for its data may have been asked the wrong thing: point at the fields the
// text did not state (highlighted in the form, which stays as it was).
function inferredFieldsToCheck(body) {
  if (body.error_type !== "DATA_NOT_FOUND" || $("params-panel").classList.contains("hidden")) return [];
  return [...document.querySelectorAll('label[data-source="inferred"], label[data-field="category_id"][data-source="not_mentioned"]')]
    .map((label) => {
      const name = label.dataset.field;
      if (name === "category_id") {
        const category = state.categories[$("category").value];
        return `Check the category: the text names none, so the default (${category ? category.name : $("category").value}) was used.`;
      }
      return `Check the highlighted ${fieldLabel(name)}: ${label.dataset.note || "inferred from your text"}.`;
    });
}
function clearMessages() {
  state.errorShown = false;
  state.warnings = { demand: [], inventory: [], targetCheck: null };
  for (const id of ["error", "notice", "plan-warnings"]) $(id).classList.add("hidden");
}
function showNotice(title, text) {
  $("notice").replaceChildren(el("strong", {}, title), el("p", {}, text));
  $("notice").classList.remove("hidden");
}

// ---------------------------------------------------------------- the parameters form

function addDays(isoDate, days) {
  const d = new Date(`${isoDate}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}
// Shares travel as fractions (0.3) and are edited as percentages (30).
const PERCENT_FIELDS = ["dc_holdback_percentage", "markdown_threshold"];
const toPercent = (x) => String(Math.round(x * 10000) / 100);

// `note` says why an inferred value is what it is ("assumed 2027: the text names no year").
function markSource(name, source, note) {
  const label = document.querySelector(`[data-field="${name}"]`);
  if (!label) return;
  label.dataset.source = source;
  label.dataset.note = note || "";
  const words = (name === "category_id" && CATEGORY_SOURCE_LABELS[source]) || SOURCE_LABELS[source] || "";
  label.querySelector(".source").textContent = note ? `${words} (${note})` : words;
}
// The category is read from the text by the server, like every other field.
const CATEGORY_SOURCE_LABELS = {
  stated: "from your text", not_mentioned: "not in your text — the default category", edited: "chosen by you",
};

// Every extraction replaces the whole form: what the text did not give is cleared, never kept
// from an earlier plan, and each field says where its value came from.
function fillForm(params, sources, notes = {}) {
  const form = $("params");
  for (const input of form.elements) {
    if (!input.name) continue;
    const value = params[input.name];
    input.value = value == null ? "" : PERCENT_FIELDS.includes(input.name) ? toPercent(value) : value;
    markSource(input.name, sources[input.name] || (value == null ? "not_mentioned" : "stated"), notes[input.name]);
  }
  updateEnd();
  // The category has its own line beside the picker; this summary is about the form.
  const named = (kinds) => Object.keys(sources).filter((n) => n !== "category_id" && kinds.includes(sources[n])).map(fieldLabel);
  const read = named(["stated", "inferred"]);
  const absent = named(["not_mentioned"]);
  $("sources-summary").textContent = [
    read.length ? `Read from your text: ${read.join(", ")}.` : "",
    absent.length ? `Not in your text, left empty: ${absent.join(", ")}.` : "",
  ].filter(Boolean).join(" ");
  $("confidence").textContent = params.confidence_score != null ? `Extraction confidence ${pct(params.confidence_score)}` : "";
}

function updateEnd() {
  const f = $("params").elements;
  const weeks = parseInt(f.forecast_horizon_weeks.value, 10);
  const start = f.season_start_date.value;
  f.season_end_date.value = start && weeks ? addDays(start, 7 * weeks) : "";
}

function onFormInput(event) {
  if (event.target.name && event.target.name !== "season_end_date") markSource(event.target.name, "edited");
  updateEnd();
}

function readForm() {
  const f = $("params").elements;
  const num = (name, parse) => (f[name].value === "" ? undefined : parse(f[name].value));
  const share = (name) => num(name, (v) => Math.round(parseFloat(v) * 100) / 10000);
  const params = {
    forecast_horizon_weeks: num("forecast_horizon_weeks", (v) => parseInt(v, 10)),
    season_start_date: f.season_start_date.value || undefined,
    replenishment_strategy: f.replenishment_strategy.value || undefined,
    dc_holdback_percentage: share("dc_holdback_percentage"),
    markdown_checkpoint_week: num("markdown_checkpoint_week", (v) => parseInt(v, 10)),
    markdown_threshold: share("markdown_threshold"),
    unit_target: num("unit_target", (v) => parseInt(v, 10)),
  };
  if (state.parameters && state.parameters.confidence_score != null) params.confidence_score = state.parameters.confidence_score;
  return Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
}

// ---------------------------------------------------------------- categories and the signed-in user

async function loadCategories() {
  const select = $("category");
  try {
    const data = await api("GET", "/api/categories");
    state.categories = Object.fromEntries(data.categories.map((c) => [c.category_id, c]));
    state.defaultCategory = data.default_category_id;
    select.replaceChildren(...data.categories.map((c) => el("option", { value: c.category_id }, `${c.name} (${c.currency || "USD"})`)));
    select.value = data.default_category_id || "";
  } catch (err) {
    select.replaceChildren(el("option", { value: "" }, "No categories loaded yet"));
  }
}

// The category the server read from the text, else the default; the picker says which, and a
// category read through a typo ("outerwaer") is marked inferred with the server's note.
function showCategory(categoryId, source, note) {
  $("category").value = categoryId || state.defaultCategory || "";
  markSource("category_id", categoryId ? source || "stated" : "not_mentioned", note);
}

async function loadUser() {
  try {
    const response = await fetch("/api/me");
    if (response.status === 401) signInAgain();
    if (!response.ok) return;
    const me = await response.json();
    if (me && me.name) {
      $("user").textContent = `Signed in as ${me.name}`;
      $("user").classList.remove("hidden");
    }
  } catch {
    // No identity route here: nothing to show.
  }
}

// ---------------------------------------------------------------- agent cards

const STATUS_WORDS = { pending: "waiting", running: "running", completed: "done", failed: "failed", cancelled: "cancelled", skipped: "did not run" };

function resetAgents() {
  state.agents = {};
  state.announced = {};
  const root = $("agents");
  root.replaceChildren(el("h2", { class: "visually-hidden" }, "Agents' progress"));
  for (const name of AGENTS) {
    state.agents[name] = { status: "pending", progress: 0, message: "Waiting to start", result: null };
    root.append(el("article", { class: "card pending", "data-agent": name },
      el("div", { class: "card-head" }, el("h3", {}, name), el("span", { class: "status" }, STATUS_WORDS.pending)),
      el("div", { class: "bar", role: "progressbar", "aria-label": `${name} progress`, "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0" }, el("div")),
      el("div", { class: "message" }, "Waiting to start"),
      el("dl")));
  }
}

function drawAgent(name) {
  const agent = state.agents[name];
  const card = document.querySelector(`[data-agent="${name}"]`);
  card.className = `card ${agent.status}`;
  card.querySelector(".status").textContent = STATUS_WORDS[agent.status];
  card.querySelector(".bar > div").style.width = `${agent.progress}%`;
  card.querySelector(".bar").setAttribute("aria-valuenow", String(Math.round(agent.progress)));
  announceStatus(name, agent.status);
  card.querySelector(".message").textContent = agent.status === "failed" ? "See the message above." : agent.message;
  const dl = card.querySelector("dl");
  dl.replaceChildren();
  for (const [key, value] of Object.entries(agent.result || {})) {
    const label = SUMMARY_LABELS[key];
    if (!label || (value != null && typeof value === "object")) continue;
    dl.append(el("dt", { title: FIGURE_NOTES[key] }, label[0]), el("dd", {}, summaryValue(label[1], value)));
  }
  if (name === "Inventory Agent" && agent.result) showPlanWarnings(agent.result);
  if (name === "Demand Agent" && agent.result) showDemandWarnings(agent.result.warnings);
}

// Screen readers hear each agent start and end once (politely), never every progress step.
function announceStatus(name, status) {
  if (status === "pending" || state.announced[name] === status) return;
  state.announced[name] = status;
  $("progress-announcer").textContent = `${name} ${STATUS_WORDS[status]}.`;
}

function advance(agent, status) {
  if (RANK[status] > RANK[agent.status] || status === "failed" || status === "cancelled") agent.status = status;
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
  if (msg.type === "agent_status") {
    if (!(msg.status === "failed" && agent.status === "cancelled")) advance(agent, msg.status);
  } else if (msg.type === "progress") {
    advance(agent, "running");
    const finished = RANK[agent.status] === 2;
    if (!finished && msg.progress >= agent.progress) { agent.progress = msg.progress; agent.message = msg.message; }
  } else if (msg.type === "complete") {
    advance(agent, "completed"); agent.progress = 100; agent.result = msg.result; agent.message = "Finished";
  } else if (msg.type === "error") {
    const cancelled = msg.error_type === "WORKFLOW_TERMINATED";
    advance(agent, cancelled ? "cancelled" : "failed");
    agent.error = { error_type: msg.error_type, message: msg.error_message, suggestions: msg.suggestions || [] };
    if (cancelled) agent.message = "Cancelled";
  }
  if (agent.status === "completed") agent.progress = 100;
  drawAgent(msg.agent_name);
  const statuses = AGENTS.map((n) => state.agents[n].status);
  if (statuses.every((s) => s === "completed") || statuses.some((s) => s === "failed" || s === "cancelled")) settle();
}

// ---------------------------------------------------------------- connection, catch-up, status

function setConnection(status) {
  const pill = $("connection");
  pill.textContent = status;
  pill.className = `pill ${status}`;
}

async function connect() {
  setConnection(state.socket ? "reconnecting" : "connecting");
  const info = await api("GET", `${API}/negotiate?session_id=${encodeURIComponent(state.sessionId)}`);
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(info.url);
    let opened = false;
    socket.onopen = () => { opened = true; state.socket = socket; state.backoff = 500; setConnection("live"); resolve(socket); };
    socket.onmessage = (event) => {
      try { applyMessage(JSON.parse(event.data)); } catch (err) { console.warn("ignoring frame", err); }
    };
    socket.onclose = () => {
      if (!opened) { reject(new Error("The live connection was refused.")); return; }
      if (!state.finished) reconnect(); else setConnection("idle");
    };
  });
}

async function reconnect() {
  setConnection("reconnecting");
  await new Promise((r) => setTimeout(r, state.backoff));
  state.backoff = Math.min(state.backoff * 2, 10000);
  if (state.finished) return;
  try {
    await connect();
    await catchUp();
  } catch {
    reconnect();
  }
}

// The highest sequence with every earlier one received: a catch-up starts there, so a message
// the socket skipped (a gap) is fetched rather than passed over.
function deliveredThrough() {
  let through = 0;
  while (state.seen.has(through + 1)) through++;
  return through;
}

async function catchUp() {
  if (!state.workflowId) return;
  try {
    const data = await api("GET", `${API}/workflows/${encodeURIComponent(state.workflowId)}/events?after=${deliveredThrough()}`);
    ((data && data.events) || []).sort((a, b) => (a.sequence || 0) - (b.sequence || 0)).forEach(applyMessage);
  } catch (err) {
    console.warn("catch-up failed", err);
  }
}

async function workflowStatus() {
  const wf = await api("GET", `${API}/workflows/${encodeURIComponent(state.workflowId)}`);
  return { wf, status: String(wf.runtime_status || wf.runtimeStatus || "").toLowerCase() };
}

async function pollStatus() {
  if (state.finished || state.settling || !state.workflowId) return;
  try {
    const { status } = await workflowStatus();
    if (TERMINAL.includes(status)) settle();
  } catch (err) {
    console.warn("status poll failed", err);
  }
}

// The agents are done (or the workflow ended): wait for the orchestration to end, take what the
// event log holds beyond what the socket delivered, then show one outcome.
async function settle() {
  if (state.settling || state.finished) return;
  state.settling = true;
  let wf = null, status = "";
  for (let i = 0; i < 40; i++) {
    try { ({ wf, status } = await workflowStatus()); } catch { status = ""; }
    if (TERMINAL.includes(status)) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  await catchUp();
  await finish(wf, status);
}

async function finish(wf, status) {
  state.finished = true;
  state.settling = false;
  clearInterval(state.pollTimer);
  if (state.socket) state.socket.close();
  state.socket = null;
  setConnection("idle");
  $("run").disabled = false;
  $("cancel").classList.add("hidden");
  if (status === "terminated" || AGENTS.some((n) => state.agents[n].status === "cancelled")) {
    for (const name of AGENTS) {
      const agent = state.agents[name];
      if (agent.status === "running" || agent.status === "pending") {
        agent.message = agent.status === "running" ? "Stopped while running" : "Not started";
        agent.status = "cancelled";
        drawAgent(name);
      }
    }
    const finished = AGENTS.filter((n) => state.agents[n].status === "completed");
    showNotice("Plan cancelled", `The plan was stopped at your request. ${finished.length ? `The results of ${finished.join(", ")} are shown below.` : "No agent had finished yet."}`);
  } else {
    const failed = AGENTS.find((n) => state.agents[n].status === "failed");
    if (failed) {
      // The chain stops at a failure: the agents after it never started, and say so.
      for (const name of AGENTS.filter((n) => state.agents[n].status === "pending")) {
        Object.assign(state.agents[name], { status: "skipped", message: `Did not run: the ${failed} failed first.` });
        drawAgent(name);
      }
      // The agent's error message; else the workflow status's error (the message was lost).
      const fromStatus = wf && wf.error && typeof wf.error === "object" ? wf.error : {};
      const error = state.agents[failed].error || { suggestions: [] };
      showError({
        error_type: error.error_type || fromStatus.error_type,
        message: error.message || fromStatus.message || "The agent stopped without saying why.",
        suggestions: error.suggestions.length ? error.suggestions : fromStatus.suggestions || [],
        request_id: state.workflowId,
      }, failed);
    } else if (status && status !== "completed") {
      showError({ error_type: "WORKFLOW_FAILED", message: `The plan ended as ${status} before its agents finished.`, suggestions: ["Run the plan again."], request_id: state.workflowId });
    }
  }
  await showResults();
  // Focus goes where the outcome appears: the error or the cancellation notice, else the plan.
  const outcome = [$("error"), $("notice")].find((box) => !box.classList.contains("hidden"));
  if (outcome) outcome.focus(); else if (!$("results").classList.contains("hidden")) $("results-heading").focus();
}

// ---------------------------------------------------------------- the unit-target warning

// The Inventory agent's warnings (sentences) and its unit-target check, shown above the plan;
// the full result's warnings replace the summary's (the summary shortens them).
function showPlanWarnings(result, fullWarnings = null) {
  const check = result.target_check;
  const listed = fullWarnings || (Array.isArray(result.warnings) ? result.warnings : []);
  state.warnings.targetCheck = check && !["within_80", "no_target"].includes(check.verdict) ? check : null;
  const sentences = [...new Set([...(state.warnings.targetCheck ? [check.message] : []), ...listed])];
  // A summary shortens a long warning ("…"): the whole sentence, when present, stands for it.
  state.warnings.inventory = sentences.filter((s) => !(s.endsWith("…") && sentences.some((t) => t !== s && t.startsWith(s.slice(0, -1)))));
  drawWarnings();
}

// The Demand agent's warnings (short history, a wide interval, a zero forecast).
function showDemandWarnings(warnings) {
  state.warnings.demand = Array.isArray(warnings) ? [...new Set(warnings)] : [];
  drawWarnings();
}

function drawWarnings() {
  const { demand, inventory, targetCheck: check } = state.warnings;
  const box = $("plan-warnings");
  if (!demand.length && !inventory.length) { box.classList.add("hidden"); return; }
  const parts = [el("strong", {}, "Check before you order")];
  if (check && check.target_units != null) {
    parts.push(el("p", { class: "target" },
      `Unit target ${units(check.target_units)} · forecast ${units(check.forecast_units)} · 80% likely range ${units(check.lower_80)}–${units(check.upper_80)}`));
  }
  if (demand.length) parts.push(el("p", { class: "source-agent" }, "Demand forecast"), el("ul", {}, ...demand.map((s) => el("li", {}, s))));
  if (inventory.length) parts.push(el("p", { class: "source-agent" }, "Inventory plan"), el("ul", {}, ...inventory.map((s) => el("li", {}, s))));
  // An alert is read out whenever its content changes: the same warnings are not redrawn.
  const text = parts.map((part) => part.textContent).join("\n");
  if (!box.classList.contains("hidden") && box.dataset.text === text) return;
  box.dataset.text = text;
  box.replaceChildren(...parts);
  box.classList.remove("hidden");
}

// ---------------------------------------------------------------- tables

// A text cell a spreadsheet would read as a formula (=, +, -, @, tab, carriage return first)
// is neutralised with a leading apostrophe (OWASP CSV injection); numbers stay numbers. As at
// the import (shared/data/csv_safety.py), the prefix is also looked for after NFKC
// normalisation and past leading spaces and invisible characters (full-width ＝, U+200B =).
const FORMULA_START = /^[=+\-@\t\r]/;
const HIDDEN_START = /^[\p{Cf}\p{Zs}\p{Zl}\p{Zp}]+/u;
const startsLikeFormula = (text) => FORMULA_START.test(text) || FORMULA_START.test(text.normalize("NFKC").replace(HIDDEN_START, ""));
const csvCell = (value) => {
  let text = value == null ? "" : String(value);
  if (typeof value === "string" && startsLikeFormula(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
};
// A CSV value: shares as percent (two decimals), numbers as plain numbers.
const csvValue = (column, value) => (value == null || value === "" ? "" : column.percent ? Math.round(Number(value) * 10000) / 100 : value);
// A footer cell: a number is shown with its column's format and written raw to the CSV.
const footerText = (column, cell) => (typeof cell === "number" && column && column.format ? column.format(cell) : cell);

// A sortable, filterable table with total rows and a CSV download of the rows shown and the totals
// (a CSV that stands alone: shares in percent, the currency on every row when money is shown).
// columns: [{key, label, format(value,row), numeric, percent}], footer(rows, shown) -> [[label, ...cells]]
function dataTable(root, { name, columns, rows, footer, filterPlaceholder, currency }) {
  const view = { sortKey: null, descending: false, filter: "" };
  const search = el("input", { type: "search", placeholder: filterPlaceholder || "Filter rows", "aria-label": `Filter ${name}` });
  const count = el("span", { class: "muted count" });
  const download = el("a", { class: "download", download: `${name.toLowerCase().replaceAll(" ", "-")}.csv`, href: "#" }, "Download CSV", el("span", { class: "visually-hidden" }, ` of ${name.toLowerCase()}`));
  const table = el("table");
  // The table scrolls in its own box (a named region a keyboard can scroll), never the page.
  const scroller = el("div", { class: "table-scroll", role: "region", "aria-label": name, tabindex: "0" }, table);
  root.replaceChildren(el("div", { class: "table-tools" }, search, count, download), scroller);

  const shown = () => {
    const needle = view.filter.trim().toLowerCase();
    let list = needle ? rows.filter((r) => columns.some((c) => String(c.format ? c.format(r[c.key], r) : r[c.key]).toLowerCase().includes(needle))) : rows.slice();
    if (view.sortKey) {
      const column = columns.find((c) => c.key === view.sortKey);
      list.sort((a, b) => {
        const x = a[column.key], y = b[column.key];
        const order = column.numeric ? (x ?? -Infinity) - (y ?? -Infinity) : String(x).localeCompare(String(y), "en", { numeric: true });
        return view.descending ? -order : order;
      });
    }
    return list;
  };

  function render() {
    const list = shown();
    const head = el("tr", {}, ...columns.map((c) => {
      const sorted = view.sortKey === c.key ? (view.descending ? "descending" : "ascending") : "none";
      const button = el("button", { type: "button", class: "sort" }, c.label, el("span", { class: "arrow", "aria-hidden": "true" }, sorted === "ascending" ? " ▲" : sorted === "descending" ? " ▼" : ""));
      button.addEventListener("click", () => {
        view.descending = view.sortKey === c.key ? !view.descending : false;
        view.sortKey = c.key;
        render();
        table.querySelector(`th[data-key="${c.key}"] button`).focus();
      });
      return el("th", { scope: "col", "aria-sort": sorted, "data-key": c.key, class: c.numeric && !c.labelLike ? "num" : "", title: c.note }, button);
    }));
    const body = el("tbody", {}, ...list.map((r) => el("tr", {}, ...columns.map((c) => el("td", { class: c.numeric && !c.labelLike ? "num" : "" }, c.format ? c.format(r[c.key], r) : r[c.key])))));
    const totals = footer ? footer(rows, list) : [];
    const foot = el("tfoot", {}, ...totals.map((cells) => el("tr", { class: "total" }, ...cells.map((cell, i) => el("td", { class: i ? "num" : "" }, footerText(columns[i], cell))))));
    table.replaceChildren(el("caption", { class: "visually-hidden" }, name), el("thead", {}, head), body, foot);
    count.textContent = list.length === rows.length ? `${rows.length} rows` : `${list.length} of ${rows.length} rows`;
    const withCurrency = (line, value) => (currency ? [...line, value] : line);
    const csv = [
      withCurrency(columns.map((c) => (c.percent ? `${c.label} (%)` : c.label)), "Currency"),
      ...list.map((r) => withCurrency(columns.map((c) => csvValue(c, r[c.key])), currency)),
      ...totals.map((cells) => withCurrency(columns.map((c, i) => (typeof cells[i] === "number" ? csvValue(c, cells[i]) : cells[i] ?? "")), currency)),
    ].map((line) => line.map(csvCell).join(",")).join("\n");
    if (download.href.startsWith("blob:")) URL.revokeObjectURL(download.href);
    download.href = URL.createObjectURL(new Blob([`${csv}\n`], { type: "text/csv" }));
  }
  search.addEventListener("input", () => { view.filter = search.value; render(); });
  search.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !search.value) return;
    event.preventDefault();
    search.value = "";
    view.filter = "";
    render();
  });
  render();
}

const sum = (list, key) => list.reduce((total, r) => total + (Number(r[key]) || 0), 0);

function forecastTable(forecast) {
  const rows = forecast.forecast_by_week.map((w, i) => ({
    week: i + 1, week_start: w.week_start, units: w.units, lower: Math.round(w.lower), upper: Math.round(w.upper),
    last_year: w.last_year_units, change: w.last_year_units ? w.units / w.last_year_units - 1 : null,
  }));
  const lastYear = forecast.last_year_total;
  dataTable($("forecast-table"), {
    name: "Forecast by week", filterPlaceholder: "Filter weeks, e.g. 2025-04", rows,
    columns: [
      { key: "week", label: "Week", numeric: true, labelLike: true }, { key: "week_start", label: "Week starting" },
      { key: "units", label: "Forecast (units)", numeric: true, format: units },
      { key: "lower", label: "80% range, low", numeric: true, format: units },
      { key: "upper", label: "80% range, high", numeric: true, format: units },
      { key: "last_year", label: "Same week last year (units)", numeric: true, format: units },
      { key: "change", label: "Forecast vs last year", numeric: true, percent: true, format: (v) => (v == null ? "–" : `${v >= 0 ? "+" : ""}${pct(v, 1)}`) },
    ],
    footer: (all, list) => [
      ...(list.length !== all.length ? [[`Shown weeks (${list.length})`, "", sum(list, "units"), "", "", sum(list, "last_year"), ""]] : []),
      [`Season total (${all.length} weeks)`, "", forecast.total_demand, "", "", lastYear ?? "", lastYear ? forecast.total_demand / lastYear - 1 : ""],
    ],
  });
}

function clusterTable(inventory) {
  const rows = inventory.clusters.map((c) => ({ label: c.cluster_label, stores: c.stores.length, share: c.allocation_percentage, units: c.total_units }));
  dataTable($("clusters-table"), {
    name: "Store groups", filterPlaceholder: "Filter groups", rows,
    columns: [
      { key: "label", label: "Store group" }, { key: "stores", label: "Stores", numeric: true, format: units },
      { key: "share", label: "Share of launch", numeric: true, percent: true, format: (v) => pct(v, 1) },
      { key: "units", label: "Launch allocation (units)", numeric: true, format: units },
    ],
    footer: (all) => [["All store groups", sum(all, "stores"), sum(all, "share"), sum(all, "units")]],
  });
}

// Every store: its group, its season forecast, its launch allocation and share, with totals
// that add up: stores + DC holdback = manufacturing quantity.
function allocationTable(inventory, forecast) {
  const byStore = Object.fromEntries(((forecast && forecast.store_forecast) || []).map((s) => [s.store_id, s.units]));
  const launch = inventory.initial_allocation_total;
  const rows = inventory.clusters.flatMap((c) => c.stores.map((s) => ({
    store_id: s.store_id, store_name: s.store_name || "", region: s.region || "", group: c.cluster_label,
    forecast: byStore[s.store_id] == null ? null : byStore[s.store_id],
    allocation: s.initial_allocation, share: launch ? s.initial_allocation / launch : 0, cover: s.launch_weeks_of_supply,
  })));
  rows.sort((a, b) => b.allocation - a.allocation);
  dataTable($("allocations-table"), {
    name: "Store allocations", filterPlaceholder: "Filter stores or groups", rows,
    columns: [
      { key: "store_id", label: "Store" }, { key: "store_name", label: "Store name" }, { key: "region", label: "Region" },
      { key: "group", label: "Store group" },
      { key: "forecast", label: "Season forecast (units)", numeric: true, format: units },
      { key: "allocation", label: "Launch allocation (units)", numeric: true, format: units },
      { key: "share", label: "Share of launch", numeric: true, percent: true, format: (v) => pct(v, 2) },
      { key: "cover", label: "Weeks of supply at launch", numeric: true, format: cover },
    ],
    footer: (all, list) => [
      ...(list.length !== all.length ? [[`Shown stores (${list.length})`, "", "", "", sum(list, "forecast"), sum(list, "allocation"), sum(list, "share"), ""]] : []),
      [`All ${all.length} stores`, "", "", "", sum(all, "forecast"), sum(all, "allocation"), sum(all, "share"), inventory.launch_weeks_of_supply ?? ""],
      ["Plus held back at the DC", "", "", "", "", inventory.dc_holdback_total, "", ""],
      ["Equals manufacturing quantity", "", "", "", "", inventory.manufacturing_qty, "", ""],
    ],
  });
}

// What the DC delivers to the stores: the season plan's deliveries (launch included) once the
// plan exists, so this table and the stock flow's receipts are one figure; before that, the
// Inventory agent's replenishment weeks at the full-price forecast.
function replenishmentTable(inventory, plan) {
  const deliveries = plan ? plan.store_deliveries : inventory.replenishment_schedule;
  const rows = deliveries.map((s) => ({ week: s.week_number, week_start: s.week_start, units: s.units }));
  $("replenishment-policy").textContent = (inventory.replenishment_policy || "") + (plan ? "" : " Before the markdown plan: the deliveries at the full-price forecast.");
  dataTable($("replenishment-table"), {
    name: "Store deliveries", filterPlaceholder: "Filter weeks", rows,
    columns: [
      { key: "week", label: "Week", numeric: true, labelLike: true }, { key: "week_start", label: "Week starting" },
      { key: "units", label: "Delivered to the stores (units)", numeric: true, format: units, note: define("store_deliveries") },
    ],
    footer: (all) => [[`All ${all.length} ${plan ? "deliveries" : "replenishment weeks"}`, "", sum(all, "units")]],
  });
}

function markdownTable(pricing, currency) {
  const rows = pricing.markdowns.map((m) => ({ week: m.week_number, week_start: m.week_start, markdown: m.markdown_pct, price: m.price, sold: m.expected_units_sold }));
  dataTable($("markdowns-table"), {
    name: "Markdown plan", filterPlaceholder: "Filter weeks", rows, currency,
    columns: [
      { key: "week", label: "Week", numeric: true, labelLike: true }, { key: "week_start", label: "Week starting" },
      { key: "markdown", label: "Markdown", numeric: true, percent: true, format: (v) => (v ? `${pct(v)} off` : "full price") },
      { key: "price", label: `Price (${currency})`, numeric: true, format: (v) => money(v, currency) },
      { key: "sold", label: "Expected units sold", numeric: true, format: units },
    ],
    footer: (all) => [
      [`Season (${all.length} weeks)`, "", "", "", pricing.expected_units_sold],
      ["Units left over", "", "", "", pricing.leftover_units],
    ],
  });
}

// The season week by week: demand and last year, price, and stock at the stores and the DC.
// Every total is a sum of the rows, which the plan's contract makes equal to the agents' totals.
function stockFlowTable(plan) {
  const rows = plan.weeks.map((w) => ({
    week: w.week_number, kind: w.actual ? "actual" : "plan", week_start: w.week_start, forecast: w.forecast_units, last_year: w.last_year_units,
    markdown: w.markdown_pct,
    demand: w.demand_units, open: w.stores.opening, receipts: w.stores.receipts, sales: w.stores.sales, lost: w.lost_sales, close: w.stores.closing,
    sell_through: w.stores.sell_through, cover: w.stores.weeks_of_supply, dc_close: w.dc.closing, dc_cover: w.dc.weeks_of_supply,
    chain_sell_through: w.chain_sell_through,
  }));
  const last = rows[rows.length - 1] || {};
  const lastYear = plan.last_year_units;
  const forecastTotal = sum(rows, "forecast");
  $("plan-history").textContent = !plan.history_weeks ? "" : plan.history_weeks >= rows.length
    ? `This season is history: all ${rows.length} weeks have sold. The rows are actual sales; the markdown is what the policy would have decided, not advice.`
    : `History up to week ${plan.history_weeks}: weeks 1–${plan.history_weeks} are actual sales, weeks ${plan.history_weeks + 1}–${rows.length} the plan.`;
  dataTable($("stock-flow-table"), {
    name: "Weekly stock flow", filterPlaceholder: "Filter weeks", rows,
    columns: [
      { key: "week", label: "Week", numeric: true, labelLike: true }, { key: "kind", label: "Actual or plan" }, { key: "week_start", label: "Starts" },
      { key: "forecast", label: "Forecast", numeric: true, format: units },
      { key: "last_year", label: "Last year", numeric: true, format: units },
      { key: "markdown", label: "Markdown", numeric: true, percent: true, format: (v) => (v ? `${pct(v)} off` : "–") },
      { key: "demand", label: "Demand", numeric: true, format: units, note: define("demand") },
      { key: "open", label: "Open", numeric: true, format: units },
      { key: "receipts", label: "Receipts", numeric: true, format: units, note: define("store_deliveries") },
      { key: "sales", label: "Sales", numeric: true, format: units },
      { key: "lost", label: "Lost sales", numeric: true, format: units, note: define("lost_sales") },
      { key: "close", label: "Close", numeric: true, format: units },
      { key: "sell_through", label: GLOSSARY.store_sell_through.label, numeric: true, percent: true, format: (v) => pct(v, 1), note: define("store_sell_through") },
      { key: "cover", label: GLOSSARY.store_weeks_of_supply.label, numeric: true, format: cover, note: define("store_weeks_of_supply") },
      { key: "dc_close", label: "DC stock", numeric: true, format: units },
      { key: "dc_cover", label: GLOSSARY.dc_weeks_of_supply.label, numeric: true, format: cover, note: define("dc_weeks_of_supply") },
      { key: "chain_sell_through", label: GLOSSARY.chain_sell_through.label, numeric: true, percent: true, format: (v) => pct(v, 1), note: define("chain_sell_through") },
    ],
    footer: (all) => [[
      `Season (${all.length} weeks)`, "", "", forecastTotal, lastYear ?? "", "",
      sum(all, "demand"), "", sum(all, "receipts"), sum(all, "sales"), sum(all, "lost"), last.close ?? "", last.sell_through ?? "", "", last.dc_close ?? "", "", last.chain_sell_through ?? "",
    ]],
  });
}

// Revenue, cost, margin, markdown cost, leftovers and GMROI, each with what it means.
function moneyTable(plan) {
  const m = plan.money;
  const c = m.currency;
  const rows = [
    ["Revenue at full price", m.units_sold_full_price, m.revenue_full_price, `Units sold at the full price of ${money(m.full_price, c)}.`],
    ["Revenue marked down", m.units_sold_marked_down, m.revenue_marked_down, "Units sold at a markdown price."],
    ["Revenue", m.units_sold, m.revenue, "All expected sales."],
    ["Cost of goods sold", m.units_sold, m.cogs, `Units sold × unit cost ${money(m.unit_cost, c)}.`],
    [`Gross margin (${pct(m.gross_margin_pct, 1)} of revenue)`, null, m.gross_margin, FIGURE_NOTES.gross_margin],
    ["Markdown cost", m.units_sold_marked_down, m.markdown_cost, FIGURE_NOTES.markdown_cost],
    ["Leftover at cost", m.leftover_units, m.leftover_cost, "Units not sold, at unit cost."],
    ["Salvage value of leftovers", m.leftover_units, m.salvage_value, FIGURE_NOTES.salvage_value],
    [GLOSSARY.average_inventory_cost.label, null, m.average_inventory_cost, define("average_inventory_cost")],
  ].map(([figure, count, amount, note]) => ({ figure, units: count, amount, note }));
  rows.push({ figure: `${GLOSSARY.gmroi.label} (a ratio, not an amount)`, units: null, amount: m.gmroi, ratio: true, note: define("gmroi") });
  rows.push({ figure: `${GLOSSARY.gmroi_annualised.label} (a ratio)`, units: null, amount: m.gmroi_annualised, ratio: true, note: define("gmroi_annualised") });
  dataTable($("money-table"), {
    name: "Money", filterPlaceholder: "Filter figures", rows, currency: c,
    columns: [
      { key: "figure", label: "Figure" }, { key: "units", label: "Units", numeric: true, format: units },
      { key: "amount", label: `Amount (${c})`, numeric: true, format: (v, r) => (r && r.ratio ? (v == null ? "–" : Number(v).toFixed(2)) : money(v, c)) },
      { key: "note", label: "What it means" },
    ],
  });
}

// The buy plan: vendor receipts into the DC, when to order them, at cost and at retail.
function buyPlanTable(plan) {
  const c = plan.money.currency;
  const rows = plan.buy_plan.map((b) => ({ week: b.week_number, week_start: b.week_start, order_by: b.order_by, units: b.units, cost: b.cost, retail: b.retail_value }));
  dataTable($("buy-plan-table"), {
    name: "Buy plan", filterPlaceholder: "Filter weeks", rows, currency: c,
    columns: [
      { key: "week", label: "Receipt week", numeric: true, labelLike: true }, { key: "week_start", label: "Lands at the DC" },
      { key: "order_by", label: `Order by (${plan.vendor_lead_weeks} weeks' lead time)`, note: define("buy_plan") },
      { key: "units", label: "Units", numeric: true, format: units },
      { key: "cost", label: `Cost (${c})`, numeric: true, format: (v) => money(v, c) },
      { key: "retail", label: `Retail value (${c})`, numeric: true, format: (v) => money(v, c) },
    ],
    footer: (all) => [
      [`All ${all.length} vendor receipts`, "", "", sum(all, "units"), Math.round(sum(all, "cost") * 100) / 100, Math.round(sum(all, "retail") * 100) / 100],
      ["Equals manufacturing quantity", "", "", plan.manufacturing_qty, "", ""],
    ],
  });
}

// ---------------------------------------------------------------- results

// Per-store tables come a page at a time (bounded, gzipped responses with every-store totals
// computed by the server); the pages are put back together and checked against those totals.
const STORE_PAGE = 5000;

async function fetchStorePages(url) {
  const pages = [];
  for (let offset = 0; offset !== null; offset = pages[pages.length - 1].store_page.next_offset) {
    pages.push(await api("GET", `${url}?store_limit=${STORE_PAGE}&store_offset=${offset}`));
  }
  const { store_page: totals, ...whole } = pages[0];
  if (whole.store_forecast) whole.store_forecast = pages.flatMap((p) => p.store_forecast);
  else whole.clusters = whole.clusters.map(({ store_count, ...c }) => ({ ...c, stores: pages.flatMap((p) => p.clusters.find((x) => x.cluster_id === c.cluster_id).stores) }));
  const served = whole.store_forecast ? whole.store_forecast.length : whole.clusters.reduce((n, c) => n + c.stores.length, 0);
  if (served !== totals.total_stores) {
    throw new ApiError({ error_type: "UNEXPECTED_RESPONSE", message: `The app sent ${served} of ${totals.total_stores} stores.`, details: {}, suggestions: ["Reload the page to fetch the results again."] });
  }
  return whole;
}

async function fetchResult(agent, path, paged = false) {
  if (state.agents[agent].status !== "completed") return null;
  const url = `${path}/${encodeURIComponent(state.workflowId)}`;
  try { return await (paged ? fetchStorePages(url) : api("GET", url)); } catch (err) {
    if (!state.errorShown) showError(err.body || { message: String(err) });
    return null;
  }
}

async function showResults() {
  const [forecast, inventory, pricing] = await Promise.all([
    fetchResult("Demand Agent", "/api/forecasts", true),
    fetchResult("Inventory Agent", "/api/allocations", true),
    fetchResult("Pricing Agent", "/api/markdowns"),
  ]);
  if (!forecast && !inventory && !pricing) return;
  $("results").classList.remove("hidden");
  const categoryId = forecast ? forecast.category_id : state.categoryId;
  const currency = currencyOf(categoryId);
  const category = state.categories[categoryId];
  const kpis = [["Category", category ? category.name : categoryId]];
  if (forecast) kpis.push(["Forecast demand (units)", units(forecast.total_demand)], ["Season", `${longDate(forecast.forecast_by_week[0].week_start)} · ${forecast.horizon_weeks} weeks`]);
  if (inventory) kpis.push(["Units to manufacture", units(inventory.manufacturing_qty)]);
  const plan = pricing && pricing.season_plan;
  const missing = (forecast && forecast.last_year_missing_weeks) || [];
  if (forecast && forecast.last_year_total != null) kpis.push(["Same weeks last year (units)", missing.length ? `${units(forecast.last_year_total)} (${forecast.horizon_weeks - missing.length} of ${forecast.horizon_weeks} weeks; no history for week${missing.length > 1 ? "s" : ""} ${missing.join(", ")})` : `${units(forecast.last_year_total)} (${change(forecast.total_demand, forecast.last_year_total)})`, "last_year_total"]);
  if (inventory) kpis.push(["Weeks of supply at launch", cover(inventory.launch_weeks_of_supply), "launch_weeks_of_supply"]);
  if (pricing) kpis.push(["Expected sell-through", pct(pricing.expected_sell_through, 1), "expected_sell_through"], [`Expected revenue (${currency})`, money(pricing.expected_revenue, currency, 0)]);
  if (plan) {
    kpis.push([`Gross margin (${currency})`, `${money(plan.money.gross_margin, currency, 0)} · ${pct(plan.money.gross_margin_pct, 1)}`, "gross_margin"]);
    kpis.push([GLOSSARY.gmroi.label, plan.money.gmroi == null ? "–" : plan.money.gmroi.toFixed(2), "gmroi"]);
    kpis.push([GLOSSARY.gmroi_annualised.label, plan.money.gmroi_annualised == null ? "–" : plan.money.gmroi_annualised.toFixed(2), "gmroi_annualised"]);
    kpis.push([`${GLOSSARY.lost_sales.label} (units)`, units(plan.lost_sales), "lost_sales"]);
  }
  $("summary").replaceChildren(...kpis.map(([k, v, note]) => el("div", { class: "kpi", title: FIGURE_NOTES[note] }, el("b", {}, v), el("span", {}, k))));
  for (const id of ["forecast-table", "clusters-table", "allocations-table", "replenishment-table", "markdowns-table", "stock-flow-table", "money-table", "buy-plan-table"]) $(id).replaceChildren();
  for (const id of ["plan-sections", "forecast-notes"]) $(id).classList.toggle("hidden", id === "plan-sections" ? !plan : !forecast);
  if (forecast) {
    drawChart($("chart"), forecast.forecast_by_week, inventory ? inventory.manufacturing_qty / forecast.forecast_by_week.length : null);
    forecastTable(forecast);
    $("forecast-notes").replaceChildren(
      el("p", {}, el("strong", {}, `${forecast.model_used}: `), forecast.model_description || forecast.explanation),
      el("p", {}, `Forecast confidence ${pct(forecast.confidence, 1)}: ${FIGURE_NOTES.confidence} Safety stock ${pct(forecast.safety_stock_pct, 1)} (${units(forecast.safety_stock_units)} units): ${FIGURE_NOTES.safety_stock_pct} The 80% likely range is where a week's sales fall 8 times out of 10.`),
    );
    showDemandWarnings(forecast.warnings);
  }
  if (inventory) {
    clusterTable(inventory); allocationTable(inventory, forecast); replenishmentTable(inventory, plan);
    showPlanWarnings(state.agents["Inventory Agent"].result || {}, inventory.warnings || []);
  }
  if (pricing) markdownTable(pricing, currency);
  if (plan) { stockFlowTable(plan); moneyTable(plan); buyPlanTable(plan); }
}

// The smallest round axis step (1, 2, 2.5 or 5 times a power of ten) of at least `raw`.
function niceStep(raw) {
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw);
}

// A chart is redrawn when its box changes width (a window resized, a phone turned).
const chartResizes = new ResizeObserver((entries) => {
  for (const { target } of entries) if (target.redraw && Math.round(target.clientWidth) !== target.drawnWidth) target.redraw();
});

// The forecast line with its 80 % range, last year's units and the average weekly buy as a
// reference line, titled axes and a legend, as inline SVG, with a summary in words beneath it
// (the chart's text alternative; the table below holds every week).
function drawChart(node, weeks, buyPerWeek = null) {
  const drawArguments = arguments;
  node.redraw = () => drawChart(...drawArguments);
  node.drawnWidth = Math.round(node.clientWidth);
  chartResizes.observe(node);
  const lastYear = weeks.every((w) => w.last_year_units != null);
  // One drawing unit is one CSS pixel at the box's width, so the labels stay readable on a phone.
  const W = Math.max(280, node.drawnWidth || 900), narrow = W < 600;
  const H = narrow ? 260 : 300, L = narrow ? 66 : 78, R = narrow ? 22 : 34, T = lastYear || buyPerWeek ? 44 : 30, B = 54;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Chart: forecast units per week with the 80% likely range, last year's units and the average weekly buy");
  svg.setAttribute("aria-describedby", "chart-summary");
  const add = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text != null) n.textContent = text;
    svg.append(n);
    return n;
  };
  const step = niceStep(Math.max(1, buyPerWeek || 0, ...weeks.map((w) => Math.max(w.upper, w.last_year_units || 0))) / 4);
  const max = step * 4;
  const x = (i) => L + (weeks.length === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (weeks.length - 1));
  const y = (v) => T + (H - T - B) * (1 - v / max);
  for (let k = 0; k <= 4; k++) {
    const v = step * k;
    add("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "axis", "stroke-dasharray": k ? "3 4" : "" });
    add("text", { x: L - 8, y: y(v) + 4, "text-anchor": "end" }, units(v));
  }
  const upper = weeks.map((w, i) => `${x(i)},${y(w.upper)}`);
  const lower = weeks.map((w, i) => `${x(i)},${y(w.lower)}`).reverse();
  add("polygon", { points: [...upper, ...lower].join(" "), class: "band" });
  if (lastYear) add("polyline", { points: weeks.map((w, i) => `${x(i)},${y(w.last_year_units)}`).join(" "), class: "last-year" });
  if (buyPerWeek) add("line", { x1: L, x2: W - R, y1: y(buyPerWeek), y2: y(buyPerWeek), class: "buy" });
  add("polyline", { points: weeks.map((w, i) => `${x(i)},${y(w.units)}`).join(" "), class: "line" });
  weeks.forEach((w, i) => {
    add("circle", { cx: x(i), cy: y(w.units), r: 3, class: "dot" });
    if (i % Math.ceil(weeks.length / Math.max(2, Math.floor((W - L - R) / 64))) === 0) {
      add("text", { x: x(i), y: H - 32, "text-anchor": "middle" }, longDate(w.week_start).replace(/, \d{4}$/, ""));
    }
  });
  add("text", { x: (L + W - R) / 2, y: H - 8, "text-anchor": "middle", class: "axis-title" }, "Week starting");
  const titleX = narrow ? 12 : 16;
  add("text", { x: titleX, y: (T + H - B) / 2, "text-anchor": "middle", class: "axis-title", transform: `rotate(-90 ${titleX} ${(T + H - B) / 2})` }, "Units per week");
  add("rect", { x: W - R - 300, y: 6, width: 14, height: 10, class: "band" });
  add("text", { x: W - R - 280, y: 15 }, "80% likely range");
  add("line", { x1: W - R - 150, x2: W - R - 130, y1: 11, y2: 11, class: "line" });
  add("text", { x: W - R - 124, y: 15 }, "Forecast (units)");
  if (lastYear) {
    add("line", { x1: W - R - 300, x2: W - R - 280, y1: 26, y2: 26, class: "last-year" });
    add("text", { x: W - R - 274, y: 30 }, "Last year");
  }
  if (buyPerWeek) {
    add("line", { x1: W - R - 190, x2: W - R - 170, y1: 26, y2: 26, class: "buy" });
    add("text", { x: W - R - 164, y: 30 }, `Buy: ${units(buyPerWeek)} a week (avg)`);
  }
  node.replaceChildren(el("figure", {}, svg, el("figcaption", { id: "chart-summary" }, chartSummary(weeks, buyPerWeek))));
}

// The chart in words: its span, its range and its peak week, as the table below counts them;
// last year's units over the same weeks and the average weekly buy, when shown.
function chartSummary(weeks, buyPerWeek = null) {
  const peak = weeks.reduce((best, w) => (w.units > best.units ? w : best), weeks[0]);
  const least = Math.min(...weeks.map((w) => w.units));
  const lastYear = weeks.every((w) => w.last_year_units != null) ? weeks.reduce((total, w) => total + w.last_year_units, 0) : null;
  return `${weeks.length} weeks from ${longDate(weeks[0].week_start)}: ${units(least)} to ${units(peak.units)} units a week, `
    + `the most in the week of ${longDate(peak.week_start)}. Every week, with its 80% likely range, is in the table below.`
    + (lastYear != null ? ` The same weeks last year sold ${units(lastYear)} units.` : "")
    + (buyPerWeek ? ` The buy averages ${units(buyPerWeek)} units a week.` : "");
}

// ---------------------------------------------------------------- actions

async function onExtract() {
  clearMessages();
  const button = $("extract");
  button.disabled = true;
  try {
    const text = $("strategy").value.trim();
    const answer = await api("POST", `${API}/extract-parameters`, { strategy_description: text });
    const { field_sources: sources = {}, field_notes: notes = {}, category_id: categoryId = null, ...params } = answer;
    state.parameters = params;
    fillForm(params, sources, notes);
    showCategory(categoryId, sources.category_id, notes.category_id);
    $("params-panel").classList.remove("hidden");
    $("params-heading").focus();
  } catch (err) {
    showError(err instanceof ApiError ? err.body : { message: String(err) });
    $("error").focus();
  } finally {
    button.disabled = false;
  }
}

async function onRun(event) {
  event.preventDefault();
  if (!$("params").reportValidity()) return;
  clearMessages();
  Object.assign(state, { workflowId: null, lastSequence: 0, seen: new Set(), finished: false, settling: false, backoff: 500, socket: null });
  state.sessionId = (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`).replace(/[^A-Za-z0-9_-]/g, "");
  state.categoryId = $("category").value || state.defaultCategory;
  $("results").classList.add("hidden");
  $("run").disabled = true;
  resetAgents();
  try {
    await connect();
    const body = { session_id: state.sessionId, parameters: readForm() };
    if (state.categoryId) body.category_id = state.categoryId;
    const started = await api("POST", `${API}/run-workflow`, body);
    $("notice").classList.add("hidden"); // a "waiting for a plan to finish" notice is over
    state.workflowId = started.workflow_id;
    $("cancel").classList.remove("hidden");
    await catchUp();
    state.pollTimer = setInterval(pollStatus, 2000);
  } catch (err) {
    state.finished = true;
    if (state.socket) state.socket.close();
    setConnection("idle");
    $("run").disabled = false;
    showError(err instanceof ApiError ? err.body : {
      error_type: "WEBSOCKET_CONNECTION_ERROR", message: err.message, suggestions: ["Check that the Web PubSub emulator (or service) is running, then run the plan again."],
    });
    $("error").focus();
  }
}

async function onCancel() {
  if (!state.workflowId || state.finished) return;
  $("cancel").disabled = true;
  try {
    await api("POST", `${API}/workflows/${encodeURIComponent(state.workflowId)}/terminate`, { reason: "Cancelled by the planner from the console" });
    settle();
  } catch (err) {
    // 409: it finished meanwhile; the status poll shows the outcome.
    if (!(err.body && err.body.error_type === "WORKFLOW_ALREADY_FINISHED")) showError(err.body || { message: String(err) });
  } finally {
    $("cancel").disabled = false;
  }
}

$("extract").addEventListener("click", onExtract);
// Ctrl+Enter (Cmd+Enter on a Mac) reads the description; Enter in a plan field runs the plan,
// since the Run button is the form's submit button.
$("strategy").addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
  event.preventDefault();
  if (!$("extract").disabled) onExtract();
});
$("run").addEventListener("click", onRun);
$("cancel").addEventListener("click", onCancel);
$("params").addEventListener("input", onFormInput);
$("category").addEventListener("change", () => markSource("category_id", "edited"));
resetAgents();
loadCategories();
loadUser();
