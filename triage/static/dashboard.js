// Supervisor dashboard: figures from /v1/stats/*, an agent panel on /v1/suggest.
// Text from the server is always set with textContent, never parsed as HTML.
"use strict";

const REFRESH_MS = 5000;
const TOKEN_KEY = "triage.token";
const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
let loading = false;

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function pct(x) { return x === null || x === undefined ? "–" : (x * 100).toFixed(1) + "%"; }
function num(x) { return x === null || x === undefined ? "–" : String(x); }
function hours(h) { return h && h.median !== null ? h.median.toFixed(1) + " h (n=" + h.n + ")" : "–"; }

function filterQuery() {
  const params = new URLSearchParams();
  for (const name of ["from", "to", "department"]) {
    const value = $(name).value;
    if (value) params.set(name, value);
  }
  const q = params.toString();
  return q ? "?" + q : "";
}

async function api(path, options) {
  const headers = Object.assign({ Accept: "application/json" }, (options && options.headers) || {});
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = "Bearer " + token;
  const response = await fetch(path, Object.assign({}, options, { headers }));
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = body.error ? body.error.code + ": " + body.error.message : response.statusText;
    throw new Error(response.status + " " + message);
  }
  return body;
}

function setStatus(text, isError) {
  const status = $("status");
  status.textContent = text;
  status.className = isError ? "error" : "";
}

function fillRows(table, rows) {
  const body = $(table).querySelector("tbody");
  body.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    for (const [text, cls] of cells) tr.appendChild(el("td", text, cls));
    return tr;
  }));
}

function renderSummary(s) {
  $("c-tickets").textContent = num(s.tickets);
  $("c-auto").textContent = pct(s.auto_route_rate);
  $("c-backlog").textContent = num(s.backlog.total);
  $("c-backlog-sub").textContent = "审核 review " + s.backlog.review + " · 退回 returned " + s.backlog.returned;
  $("c-return").textContent = pct(s.return_rate);
  $("c-return-sub").textContent = "退单 " + s.events["return"] + " / 签收 accepted " + s.events.accept;
  $("c-model").textContent = s.active_model || "–";
  fillRows("deadletters", s.deadletters.by_reason.map((r) => [[r.key || "unknown"], [r.count, "num"]]));
  fillRows("models", s.models.map((m) => [
    [m.version || "–"], [m.decisions, "num"], [m.last_at ? new Date(m.last_at).toLocaleString() : "–"],
  ]));
}

function renderAccuracy(a) {
  $("c-accuracy").textContent = pct(a.accuracy);
  $("c-accuracy-sub").textContent = a.correct + " / " + a.tickets + " 已签收/办结 settled";
}

function renderDepartments(d) {
  const select = $("department");
  const known = new Set(Array.from(select.options, (o) => o.value));
  for (const row of d.departments) {
    if (!known.has(row.department)) select.appendChild(new Option(row.name || row.department, row.department));
  }
  fillRows("departments", d.departments.map((r) => [
    [r.name ? r.name + " (" + r.department + ")" : r.department],
    [r.tickets, "num"], [r.accepted, "num"], [r.returned, "num"], [pct(r.return_rate), "num"],
    [r.resolved, "num"], [hours(r.hours_to_accept), "num"], [hours(r.hours_to_resolve), "num"],
    [r.top_return_reasons.length ? r.top_return_reasons[0].reason + " ×" + r.top_return_reasons[0].count : "–"],
  ]));
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderChart(daily) {
  const chart = $("chart");
  const days = daily.days;
  const W = 900, H = 220, left = 36, bottom = 22, top = 8;
  const max = Math.max(1, ...days.map((d) => Math.max(d.tickets, d.deadletters)));
  const plotH = H - bottom - top;
  const step = days.length ? (W - left) / days.length : 0;
  const y = (v) => top + plotH - (v / max) * plotH;
  const nodes = [
    svg("line", { x1: left, y1: top + plotH, x2: W, y2: top + plotH, class: "axis" }),
    svg("text", { x: 2, y: top + 8 }, String(max)),
    svg("text", { x: 2, y: top + plotH }, "0"),
  ];
  const labelEvery = Math.max(1, Math.ceil(days.length / 10));
  const points = [];
  days.forEach((d, i) => {
    const x = left + i * step, w = Math.max(1, step * 0.8);
    const autoH = (d.auto_routed / max) * plotH, reviewH = (d.review / max) * plotH;
    const group = svg("g", {});
    group.appendChild(svg("title", {}, d.day + ": " + d.tickets + " tickets, " + d.auto_routed +
      " auto-routed, " + d.review + " review, " + d.deadletters + " dead letters"));
    group.appendChild(svg("rect", { x, y: top + plotH - autoH, width: w, height: autoH, class: "auto" }));
    group.appendChild(svg("rect", { x, y: top + plotH - autoH - reviewH, width: w, height: reviewH, class: "review" }));
    nodes.push(group);
    points.push((x + w / 2).toFixed(1) + "," + y(d.deadletters).toFixed(1));
    if (i % labelEvery === 0) nodes.push(svg("text", { x, y: H - 6 }, d.day.slice(5)));
  });
  if (points.length) nodes.push(svg("polyline", { points: points.join(" "), class: "dead" }));
  if (!days.length) nodes.push(svg("text", { x: W / 2 - 40, y: H / 2 }, "暂无数据 no data"));
  chart.replaceChildren(...nodes);
}

async function refresh() {
  if (loading) return;
  if (!localStorage.getItem(TOKEN_KEY)) {
    setStatus("请输入令牌 · enter a supervisor or trainer token", true);
    return;
  }
  loading = true;
  try {
    const q = filterQuery();
    const [summary, daily, departments, accuracy] = await Promise.all([
      api("/v1/stats/summary" + q), api("/v1/stats/daily" + q),
      api("/v1/stats/departments" + q), api("/v1/stats/accuracy" + q),
    ]);
    renderSummary(summary);
    renderChart(daily);
    renderDepartments(departments);
    renderAccuracy(accuracy);
    setStatus("更新于 updated " + new Date().toLocaleTimeString() + " · 每5秒刷新 refreshes every 5 s", false);
  } catch (err) {
    setStatus("加载失败 · failed: " + err.message, true);
  } finally {
    loading = false;
  }
}

async function loadDepartments() {
  try {
    const body = await api("/v1/departments");
    const list = Array.isArray(body) ? body : body.departments || [];
    const select = $("department");
    for (const d of list) select.appendChild(new Option(d.name + " (" + d.code + ")", d.code));
  } catch (_err) {
    // The table fills the list from the statistics instead.
  }
}

// Marks the evidence spans of one field; overlapping spans merge into one mark.
function highlight(node, text, spans) {
  const ranges = spans.slice().sort((a, b) => a.start - b.start);
  const parts = [];
  let pos = 0;
  for (const r of ranges) {
    const start = Math.max(r.start, pos), end = Math.min(r.end, text.length);
    if (end <= start) continue;
    if (start > pos) parts.push(document.createTextNode(text.slice(pos, start)));
    const mark = el("mark", text.slice(start, end));
    mark.title = r.term + " (" + r.weight.toFixed(3) + ")";
    parts.push(mark);
    pos = end;
  }
  if (pos < text.length) parts.push(document.createTextNode(text.slice(pos)));
  node.replaceChildren(...parts);
}

function renderSuggestion(res) {
  const route = res.route || res.decision;
  const decision = $("s-decision");
  decision.replaceChildren(
    el("span", route === "routed" ? "自动分派 routed" : "转人工审核 review", route === "routed" ? "routed" : "review-tag"),
    document.createTextNode(" · 模型 model " + (res.model_version || "–")),
  );
  const top = (res.suggestions || []).slice(0, 3);
  $("s-top").replaceChildren(...top.map((s) => {
    const li = el("li", (s.department_name || s.department || "—") + " · " + s.label + " · " + pct(s.probability));
    const bar = el("span", null, "bar");
    bar.style.width = Math.round((s.probability || 0) * 120) + "px";
    li.appendChild(bar);
    return li;
  }));
  const text = res.text || res.masked || { title: "", body: "" };
  const spans = { title: [], body: [] };
  for (const e of res.evidence || []) {
    for (const s of e.spans || []) {
      const span = Array.isArray(s) ? { field: s[0], start: s[1], end: s[2] } : s;
      if (spans[span.field]) spans[span.field].push({ start: span.start, end: span.end, term: e.term, weight: e.weight });
    }
  }
  highlight($("s-masked-title"), text.title || "", spans.title);
  highlight($("s-masked-body"), text.body || "", spans.body);
  $("s-result").hidden = false;
}

async function suggest(event) {
  event.preventDefault();
  const payload = { body: $("s-body").value };
  if ($("s-title").value) payload.title = $("s-title").value;
  if ($("s-location").value) payload.location = $("s-location").value;
  try {
    const res = await api("/v1/suggest", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload),
    });
    renderSuggestion(res);
  } catch (err) {
    $("s-decision").textContent = "失败 failed: " + err.message;
    $("s-top").replaceChildren();
    $("s-result").hidden = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("token").value = localStorage.getItem(TOKEN_KEY) || "";
  $("controls").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    if (token) localStorage.setItem(TOKEN_KEY, token); else localStorage.removeItem(TOKEN_KEY);
    refresh();
  });
  $("department").addEventListener("change", refresh);
  $("suggest-form").addEventListener("submit", suggest);
  loadDepartments();
  refresh();
  setInterval(refresh, REFRESH_MS);
});
