// The live seasons view: plan against actual for one season, redrawn when `plan_updated`
// lands on the socket. Every figure comes from GET /api/seasons/{id} as the API answers it,
// so the page and the CLI show the same numbers.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const state = { season: null, socket: null, sessionId: null };

async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

function el(tag, attributes = {}, text = "") {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

function drawChart(weeks) {
  const svg = document.getElementById("season-chart");
  svg.replaceChildren();
  const width = 900, height = 320, left = 60, right = 120, top = 20, bottom = 40;
  const values = weeks.flatMap((w) => [w.upper, w.original_units, w.working_units, w.actual_units ?? 0]);
  const max = Math.max(1, ...values) * 1.05;
  const x = (i) => left + (i + 0.5) * ((width - left - right) / weeks.length);
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  svg.append(el("line", { x1: left, y1: y(0), x2: width - right, y2: y(0), class: "axis" }));
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    const value = Math.round(max * tick);
    svg.append(el("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end", class: "tick" }, value.toLocaleString()));
  }
  const band = weeks.map((w, i) => `${x(i)},${y(w.upper)}`).concat(
    weeks.map((w, i) => `${x(weeks.length - 1 - i)},${y(weeks[weeks.length - 1 - i].lower)}`));
  svg.append(el("polygon", { points: band.join(" "), class: "band" }));
  const line = (key, cls) => svg.append(el("polyline", {
    points: weeks.map((w, i) => `${x(i)},${y(w[key])}`).join(" "), class: cls }));
  line("original_units", "original");
  line("working_units", "working");
  weeks.forEach((w, i) => {
    if (w.actual_units !== null) {
      const dot = el("circle", { cx: x(i), cy: y(w.actual_units), r: 5, class: "actual" });
      dot.append(el("title", {}, `Week ${w.week_number}: ${w.actual_units.toLocaleString()} sold`));
      svg.append(dot);
    }
    svg.append(el("text", { x: x(i), y: height - bottom + 16, "text-anchor": "middle", class: "tick" }, `W${w.week_number}`));
  });
  const legend = [["band", "80 % band"], ["original", "original plan"], ["working", "working plan"], ["actual", "actual"]];
  legend.forEach(([cls, label], i) => {
    const ly = top + 12 + i * 20;
    svg.append(el("rect", { x: width - right + 12, y: ly - 8, width: 14, height: 10, class: `key ${cls}` }));
    svg.append(el("text", { x: width - right + 32, y: ly + 1, class: "tick" }, label));
  });
}

function fillTable(id, headers, rows) {
  const table = document.getElementById(id);
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  for (const h of headers) head.append(Object.assign(document.createElement("th"), { textContent: h }));
  const body = table.createTBody();
  for (const cells of rows) {
    const row = body.insertRow();
    for (const cell of cells) row.insertCell().textContent = cell;
  }
}

const units = (v) => (v === null || v === undefined ? "" : v.toLocaleString());
const pct = (v) => (v === null || v === undefined ? "" : `${v > 0 ? "+" : ""}${v.toFixed(1)} %`);

function render(season) {
  state.season = season;
  const latest = season.versions[season.versions.length - 1];
  document.getElementById("season-summary").textContent =
    `${season.category_id}, ${season.weeks} weeks from ${season.season_start_date} (${season.status}); ` +
    `version ${latest ? latest.version : 0}, ${season.actuals_version} uploads`;
  drawChart(season.weeks_plan_against_actual);
  fillTable("weeks-table",
    ["Week", "Starts", "Original", "Working", "Actual", "Variance", "Sell-through", "Weeks of supply", "DC ship"],
    season.weeks_plan_against_actual.map((w) => [w.week_number, w.week_start, units(w.original_units),
      units(w.working_units), units(w.actual_units), pct(w.variance_pct),
      w.sell_through === null ? "" : `${Math.round(w.sell_through * 100)} %`,
      w.weeks_of_supply === null ? "" : w.weeks_of_supply.toFixed(1), units(w.shipment_units)]));
  fillTable("versions-table", ["Version", "From uploads", "Variance", "What changed and why"],
    season.versions.map((v) => [v.version, v.actuals_version, pct(v.variance.variance_pct), v.changes.reason || ""]));
}

async function load(seasonId) {
  render(await getJson(`/api/seasons/${encodeURIComponent(seasonId)}`));
  listen(state.season.session_id);
}

async function listen(sessionId) {
  if (state.sessionId === sessionId && state.socket) return;
  if (state.socket) state.socket.close();
  state.sessionId = sessionId;
  const pill = document.getElementById("connection");
  const info = await getJson(`/api/orchestrator/negotiate?session_id=${encodeURIComponent(sessionId)}`);
  const socket = new WebSocket(info.url);
  state.socket = socket;
  socket.onopen = () => { pill.textContent = "live"; pill.className = "pill live"; };
  socket.onclose = () => { pill.textContent = "idle"; pill.className = "pill idle"; };
  socket.onmessage = async (frame) => {
    const message = JSON.parse(frame.data);
    if (message.type === "plan_updated" && state.season && message.season_id === state.season.season_id) {
      document.getElementById("latest-update").textContent = `Version ${message.version}: ${message.reason}`;
      render(await getJson(`/api/seasons/${encodeURIComponent(message.season_id)}`));
    }
  };
}

async function start() {
  const { seasons } = await getJson("/api/seasons");
  const select = document.getElementById("season-select");
  for (const s of seasons) {
    select.append(Object.assign(document.createElement("option"), {
      value: s.season_id, textContent: `${s.category_id} from ${s.season_start_date} (${s.status})` }));
  }
  const wanted = new URLSearchParams(location.search).get("season_id");
  if (wanted) select.value = wanted;
  select.onchange = () => load(select.value);
  if (select.value) await load(select.value);
}

start();
