// 看板: the page picks its desk by the token's role (GET /v1/me): the supervisor's figures from
// /v1/stats/* (charts drawn with Apache ECharts, served by this server; sortable tables with
// CSV/XLSX export), a department's own figures beside its desk (department_desk.js), and the
// agent's desk (agent_desk.js), which reads no statistics.
// Text from the server is always set with textContent, never parsed as HTML.
"use strict";

const REFRESH_MS = 5000;
const TOKEN_KEY = "triage.token";
const $ = (id) => document.getElementById(id);
const charts = {};
const tables = {};
let loading = false;
let ownDepartment = null;
let role = null;

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function pct(x) { return x === null || x === undefined ? "–" : (x * 100).toFixed(1) + "%"; }
function num(x) { return x === null || x === undefined ? "–" : Number(x).toLocaleString("zh-CN"); }
function hrs(x) { return x === null || x === undefined ? "–" : x.toFixed(1) + " 小时"; }
function deptName(code) { return Desk.dept(code); }

function filterParams() {
  const params = new URLSearchParams();
  for (const name of ["from", "to", "department"]) {
    const value = $(name).value;
    if (value && !(name === "department" && ownDepartment)) params.set(name, value);
  }
  return params;
}

function query(extra) {
  const params = filterParams();
  for (const [k, v] of Object.entries(extra || {})) params.set(k, v);
  const q = params.toString();
  return q ? "?" + q : "";
}

async function call(path, options) {
  const headers = Object.assign({}, (options && options.headers) || {});
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = "Bearer " + token;
  return fetch(path, Object.assign({}, options, { headers }));
}

async function api(path, options) {
  const response = await call(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = body.error ? body.error.message : response.statusText;
    throw new Error(response.status + " " + message);
  }
  return body;
}

function setStatus(text, isError) {
  const status = $("status");
  status.textContent = text;
  status.className = isError ? "error" : "";
}
Desk.setStatus = setStatus;

// --- tables: rows kept as objects, sorted by the clicked column -----------------------------

function defineTable(id, columns) {
  tables[id] = { columns, rows: [], key: null, dir: -1 };
  const headers = $(id).querySelectorAll("th");
  headers.forEach((th, i) => {
    th.tabIndex = 0;
    th.title = "点击排序";
    const sort = () => {
      const t = tables[id];
      const key = columns[i].key;
      t.dir = t.key === key ? -t.dir : -1;
      t.key = key;
      drawTable(id);
    };
    th.addEventListener("click", sort);
    th.addEventListener("keydown", (e) => { if (e.key === "Enter") sort(); });
  });
}

function compare(a, b) {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), "zh-CN");
}

function drawTable(id) {
  const t = tables[id];
  const rows = t.rows.slice();
  if (t.key) rows.sort((x, y) => t.dir * compare(x[t.key], y[t.key]));
  $(id).querySelectorAll("th").forEach((th, i) => {
    th.dataset.sorted = t.columns[i].key === t.key ? (t.dir > 0 ? "asc" : "desc") : "";
  });
  const body = $(id).querySelector("tbody");
  if (!rows.length) {
    const tr = el("tr");
    const td = el("td", "暂无数据", "empty");
    td.colSpan = t.columns.length;
    tr.appendChild(td);
    body.replaceChildren(tr);
    return;
  }
  body.replaceChildren(...rows.map((row) => {
    const tr = el("tr");
    if (row.overdue === true) tr.className = "late";
    for (const c of t.columns) tr.appendChild(el("td", c.show ? c.show(row[c.key], row) : row[c.key], c.num ? "num" : ""));
    if (typeof row.link === "function" && role !== "trainer") {
      // The row's first cell opens what it counts: a department's queue, or the review queue.
      const first = tr.firstChild;
      const link = el("a", first.textContent, "row-link");
      link.href = "#";
      link.addEventListener("click", (e) => { e.preventDefault(); row.link(); });
      first.replaceChildren(link);
    }
    return tr;
  }));
}

function setRows(id, rows) {
  tables[id].rows = rows;
  drawTable(id);
}

// --- exports: the same figures as CSV or XLSX, fetched with the token -----------------------

async function download(table, format) {
  const extra = { format };
  try {
    const response = await call("/v1/stats/" + table + query(extra));
    if (!response.ok) throw new Error(response.status + " " + response.statusText);
    const blob = await response.blob();
    const match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    const link = el("a");
    link.href = URL.createObjectURL(blob);
    link.download = match ? match[1] : table + "." + format;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  } catch (err) {
    setStatus("导出失败：" + err.message, true);
  }
}

function addExportButtons() {
  for (const span of document.querySelectorAll(".exports")) {
    for (const [format, label] of [["csv", "导出CSV"], ["xlsx", "导出Excel"]]) {
      const button = el("button", label, "export");
      button.type = "button";
      button.dataset.format = format;
      button.addEventListener("click", () => download(span.dataset.table, format));
      span.appendChild(button);
    }
  }
}

// --- charts ---------------------------------------------------------------------------------

const COLORS = ["#2f6fb3", "#e39b2d", "#c4403a", "#3c9a5f", "#7a5bb5", "#6b7785"];

function chart(id, option) {
  if (!window.echarts) return;
  if (!charts[id]) charts[id] = window.echarts.init($(id), null, { renderer: "canvas" });
  charts[id].setOption(Object.assign({
    color: COLORS,
    textStyle: { fontFamily: "system-ui, 'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', sans-serif" },
    grid: { left: 48, right: 48, top: 36, bottom: 56 },
    tooltip: { trigger: "axis" },
  }, option), true);
}

function categoryAxis(data, rotate) {
  return { type: "category", data, axisLabel: { rotate: rotate || 0, fontSize: 11, interval: 0, hideOverlap: true } };
}

function drawVolume(daily) {
  const days = daily.days;
  chart("chart-volume", {
    legend: { top: 0, data: ["自动派单", "人工审核", "自动派单率"] },
    xAxis: categoryAxis(days.map((d) => d.day.slice(5)), days.length > 14 ? 45 : 0),
    yAxis: [
      { type: "value", name: "工单" },
      { type: "value", name: "派单率", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
    ],
    series: [
      { name: "自动派单", type: "bar", stack: "v", data: days.map((d) => d.auto_routed) },
      { name: "人工审核", type: "bar", stack: "v", data: days.map((d) => d.review) },
      {
        name: "自动派单率", type: "line", yAxisIndex: 1, smooth: true,
        data: days.map((d) => (d.tickets ? Math.round((1000 * d.auto_routed) / d.tickets) / 10 : null)),
      },
    ],
  });
}

function drawDepartments(deps, backlog) {
  const overdue = {};
  for (const b of backlog.departments) if (b.department) overdue[b.department] = b.overdue_accept + b.overdue_resolve;
  // Every department, highest return rate first; a slider scrolls when they do not fit.
  const rows = deps.departments.slice().sort((a, b) => (b.return_rate || 0) - (a.return_rate || 0));
  chart("chart-departments", {
    legend: { top: 0, data: ["退单率", "超期工单"] },
    grid: { left: 48, right: 48, top: 36, bottom: rows.length > 12 ? 120 : 96 },
    dataZoom: zoom(rows.length),
    xAxis: categoryAxis(rows.map((d) => deptName(d.department)), 40),
    yAxis: [
      { type: "value", name: "退单率", min: 0, axisLabel: { formatter: "{value}%" } },
      { type: "value", name: "超期", minInterval: 1 },
    ],
    series: [
      { name: "退单率", type: "bar", data: rows.map((d) => (d.return_rate === null ? 0 : Math.round(d.return_rate * 1000) / 10)) },
      { name: "超期工单", type: "bar", yAxisIndex: 1, data: rows.map((d) => overdue[d.department] || 0) },
    ],
  });
}

function drawAccuracy(acc) {
  const models = acc.by_model;
  chart("chart-accuracy", {
    grid: { left: 48, right: 24, top: 24, bottom: 56 },
    tooltip: { trigger: "axis", valueFormatter: (v) => v + "%" },
    xAxis: categoryAxis(models.map((m) => m.model_version)),
    yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
    series: [{
      name: "首次派单准确率", type: "bar", barMaxWidth: 48,
      label: { show: true, position: "top", formatter: (p) => p.value + "%" },
      data: models.map((m) => (m.accuracy === null ? 0 : Math.round(m.accuracy * 1000) / 10)),
    }],
  });
}

function zoom(n) {
  if (n <= 12) return [];
  return [{ type: "slider", xAxisIndex: 0, startValue: 0, endValue: 11, height: 16, bottom: 4, zoomLock: true, brushSelect: false }];
}

function drawResolve(deps) {
  const rows = deps.departments.filter((d) => d.hours_to_resolve.n > 0)
    .sort((a, b) => b.hours_to_resolve.median - a.hours_to_resolve.median);
  chart("chart-resolve", {
    legend: { top: 0, data: ["中位数", "P90"] },
    grid: { left: 48, right: 24, top: 36, bottom: rows.length > 12 ? 120 : 96 },
    dataZoom: zoom(rows.length),
    xAxis: categoryAxis(rows.map((d) => deptName(d.department)), 40),
    yAxis: { type: "value", name: "小时" },
    series: [
      { name: "中位数", type: "bar", data: rows.map((d) => d.hours_to_resolve.median) },
      { name: "P90", type: "bar", data: rows.map((d) => d.hours_to_resolve.p90) },
    ],
  });
}

function drawAges(backlog) {
  const labels = { "0-1d": "1天内", "1-3d": "1-3天", "3-7d": "3-7天", "7-30d": "7-30天", "30d+": "30天以上" };
  chart("chart-ages", {
    grid: { left: 48, right: 24, top: 16, bottom: 28 },
    xAxis: categoryAxis(backlog.ages.map((a) => labels[a.key] || a.key)),
    yAxis: { type: "value", minInterval: 1 },
    series: [{ name: "未办结工单", type: "bar", barMaxWidth: 48, data: backlog.ages.map((a) => a.count),
               itemStyle: { color: COLORS[1] } }],
  });
}

// --- figures --------------------------------------------------------------------------------

function sum(rows, key) { return rows.reduce((n, r) => n + (r[key] || 0), 0); }

function renderCards(s, acc, backlog) {
  $("c-tickets").textContent = num(s.tickets);
  // Dead letters never reach a department: its view shows its own figures only.
  $("c-tickets-sub").textContent = ownDepartment ? "按来件日期" : "死信 " + num(s.deadletters.total);
  $("c-auto").textContent = pct(s.auto_route_rate);
  $("c-backlog-name").textContent = ownDepartment ? "本部门未办结" : "热线待处理";
  $("c-backlog").textContent = num(ownDepartment ? sum(backlog.departments, "open") : s.backlog.total);
  $("c-backlog-sub").textContent = ownDepartment
    ? "待受理 " + num(sum(backlog.departments, "waiting_accept")) + " · 待办结 " + num(sum(backlog.departments, "waiting_resolve"))
    : "待审核 " + num(s.backlog.review) + " · 被退回 " + num(s.backlog.returned);
  $("c-return").textContent = pct(s.return_rate);
  $("c-return-sub").textContent = "退单 " + num(s.events["return"]) + " / 受理 " + num(s.events.accept);
  $("c-overdue").textContent = num(backlog.overdue_accept + backlog.overdue_resolve);
  $("c-overdue-sub").textContent = "未受理 " + num(backlog.overdue_accept) + " · 未办结 " + num(backlog.overdue_resolve);
  $("c-accuracy").textContent = pct(acc.accuracy);
  $("c-accuracy-sub").textContent = num(acc.correct) + " / " + num(acc.tickets) + " 张已定工单";
}

function renderTables(s, deps, backlog, routings) {
  setRows("departments", deps.departments.map((d) => ({
    name: deptName(d.department), link: () => Desk.openQueue(d.department), tickets: d.tickets, accepted: d.accepted, returned: d.returned,
    return_rate: d.return_rate, resolved: d.resolved, accept_median: d.hours_to_accept.median,
    resolve_median: d.hours_to_resolve.median,
    reason: d.top_return_reasons.length ? d.top_return_reasons[0].reason + " ×" + d.top_return_reasons[0].count : "",
  })));
  setRows("backlog", backlog.departments.map((b) => ({
    name: deptName(b.department), link: b.department ? () => Desk.openQueue(b.department) : null, open: b.open, waiting_accept: b.waiting_accept,
    overdue_accept: b.overdue_accept, waiting_resolve: b.waiting_resolve, overdue_resolve: b.overdue_resolve,
    overdue: b.overdue_accept + b.overdue_resolve > 0,
    // The hotline's own tickets (review, returned) wait for no department's deadline.
    deadline: b.department ? b.accept_hours : null,
    deadline_text: b.department ? b.accept_hours + " / " + b.resolve_hours : "–",
  })));
  const own = backlog.range.department;
  $("deadline-note").textContent = (own ? "本部门法定时限" : "默认法定时限") + "：受理 " +
    backlog.deadlines.accept_hours + " 个工作小时，办结 " + backlog.deadlines.resolve_hours +
    " 个工作小时" + (own ? "" : "（各部门另有规定的见表中“时限”列）") +
    "；工作日 9:00-12:00、14:00-18:00，节假日与调休按 " + backlog.calendar + "。";
  setRows("routings", routings.routings.map((r) => ({
    from: r.routed_to_name || deptName(r.routed_to), to: r.settled_at_name || deptName(r.settled_at),
    count: r.count, link: () => Desk.openQueue(r.settled_at),
  })));
  setRows("channels", s.by_channel.map((r) => ({ key: Desk.channel(r.key), count: r.count })));
  setRows("districts", s.by_district.map((r) => ({ key: Desk.district(r.key), count: r.count })));
}

function setView(me) {
  role = me.role;
  ownDepartment = me.role === "department" ? me.department : null;
  $("department-label").hidden = me.role !== "supervisor" && me.role !== "trainer";
  $("view-name").textContent = me.role === "department"
    ? Desk.ROLE.department + "：" + (me.department_name || deptName(me.department))
    : Desk.ROLE[me.role] || "";
  document.body.dataset.role = me.role;
  $("stats").hidden = me.role === "agent";
}

async function refresh() {
  if (loading || !role || role === "agent") return;
  loading = true;
  try {
    const q = query();
    const [summary, daily, deps, acc, backlog, routings] = await Promise.all(
      ["summary", "daily", "departments", "accuracy", "backlog", "routings"].map((name) => api("/v1/stats/" + name + q)),
    );
    renderCards(summary, acc, backlog);
    renderTables(summary, deps, backlog, routings);
    drawVolume(daily);
    drawDepartments(deps, backlog);
    drawAccuracy(acc);
    drawResolve(deps);
    drawAges(backlog);
    setStatus("更新于 " + new Date().toLocaleTimeString("zh-CN") + " · 每5秒自动刷新", false);
  } catch (err) {
    setStatus("加载失败：" + err.message, true);
  } finally {
    loading = false;
  }
}

// Who the token is decides the desk; nothing else is asked before that.
async function start() {
  if (!Desk.token()) {
    setStatus("请输入令牌（坐席、部门、主管或培训员）", true);
    return;
  }
  try {
    await Desk.load();
    const me = await Desk.api("/v1/me");
    Desk.me = me;
    const select = $("department");
    if (select.options.length === 1) for (const d of Desk.list()) select.appendChild(new Option(d.name, d.code));
    setView(me);
    document.dispatchEvent(new CustomEvent("desk:role", { detail: me }));
    await refresh();
  } catch (err) {
    setStatus("加载失败：" + err.message, true);
  }
}

function quickRange(days) {
  const iso = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
  const today = new Date();
  $("to").value = days ? iso(today) : "";
  $("from").value = days ? iso(new Date(today.getTime() - (days - 1) * 86400000)) : "";
  changed();
}

function changed() {
  refresh();
  document.dispatchEvent(new CustomEvent("desk:filters"));
}

document.addEventListener("DOMContentLoaded", () => {
  const pctCol = (v) => pct(v), hrsCol = (v) => hrs(v), numCol = (v) => num(v);
  defineTable("departments", [
    { key: "name" }, { key: "tickets", num: true, show: numCol }, { key: "accepted", num: true, show: numCol },
    { key: "returned", num: true, show: numCol }, { key: "return_rate", num: true, show: pctCol },
    { key: "resolved", num: true, show: numCol }, { key: "accept_median", num: true, show: hrsCol },
    { key: "resolve_median", num: true, show: hrsCol }, { key: "reason" },
  ]);
  defineTable("backlog", [
    { key: "name" }, { key: "open", num: true, show: numCol }, { key: "waiting_accept", num: true, show: numCol },
    { key: "overdue_accept", num: true, show: numCol }, { key: "waiting_resolve", num: true, show: numCol },
    { key: "overdue_resolve", num: true, show: numCol },
    { key: "deadline", num: true, show: (v, row) => row.deadline_text },
  ]);
  defineTable("routings", [{ key: "from" }, { key: "to" }, { key: "count", num: true, show: numCol }]);
  defineTable("channels", [{ key: "key" }, { key: "count", num: true, show: numCol }]);
  defineTable("districts", [{ key: "key" }, { key: "count", num: true, show: numCol }]);
  addExportButtons();
  $("token").value = Desk.token() || "";
  $("controls").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    const before = Desk.token();
    if (token) localStorage.setItem(TOKEN_KEY, token); else localStorage.removeItem(TOKEN_KEY);
    // Another token is another person: start the page again for them.
    if (before && before !== token) { location.reload(); return; }
    if (role) changed(); else start();
  });
  for (const b of document.querySelectorAll(".quick button")) {
    b.addEventListener("click", () => quickRange(Number(b.dataset.days)));
  }
  $("department").addEventListener("change", changed);
  window.addEventListener("resize", () => { for (const c of Object.values(charts)) c.resize(); });
  start();
  setInterval(refresh, REFRESH_MS);
});
