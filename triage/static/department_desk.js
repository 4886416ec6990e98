// The department's desk: its open tickets (GET /v1/stats/queue) with ages and deadline clocks,
// overdue marked, each opening the ticket drawer to accept, return or resolve it. A supervisor
// opens any department's queue in the drawer from the department tables.
"use strict";

(function (Desk) {
  const { el } = Desk;
  const REFRESH_MS = 5000;
  let timer = null;

  function link(t) {
    const a = el("a", Desk.title(t.title), "ticket-link");
    a.href = "#";
    a.addEventListener("click", (e) => { e.preventDefault(); Desk.openTicket(t.ticket_id); });
    return a;
  }

  function row(t) {
    const tr = el("tr");
    tr.dataset.ticket = t.ticket_id;
    if (t.overdue) tr.className = "late";
    const title = el("td");
    title.appendChild(link(t));
    const clock = Desk.clock(t.due);
    tr.append(
      el("td", Desk.when(t.received_at)), title, el("td", Desk.status(t.status)),
      el("td", Desk.channel(t.channel)), el("td", Desk.span(t.age_hours), "num"),
      el("td", (Desk.WAITING[t.waiting_for] || "") + " · " + clock.text, clock.late ? "late-text" : ""),
    );
    return tr;
  }

  function fill(body, tickets, empty) {
    if (!tickets.length) {
      const tr = el("tr");
      const td = el("td", empty, "empty");
      td.colSpan = 6;
      tr.appendChild(td);
      body.replaceChildren(tr);
      return;
    }
    body.replaceChildren(...tickets.map(row));
  }

  async function refresh() {
    if (!Desk.me || Desk.me.role !== "department") return;
    try {
      const q = await Desk.api("/v1/stats/queue");
      fill(document.querySelector("#dept-queue tbody"), q.tickets, "本部门暂无待办工单");
      document.getElementById("dept-count").textContent =
        "共" + q.tickets.length + "件，超期" + q.overdue + "件；时限：受理" + q.deadlines.accept_hours +
        "、办结" + q.deadlines.resolve_hours + "个工作小时";
    } catch (err) {
      Desk.setStatus("加载失败：" + err.message, true);
    }
  }

  // A supervisor's look at one department's queue, in the drawer.
  async function openQueue(code) {
    const body = Desk.drawer();
    try {
      const q = await Desk.api("/v1/stats/queue?department=" + encodeURIComponent(code));
      const table = el("table", null, "queue-table");
      const head = el("tr");
      for (const h of ["来件时间", "标题", "状态", "渠道", "已过", "时限"]) head.appendChild(el("th", h));
      const thead = el("thead");
      thead.appendChild(head);
      const tbody = el("tbody");
      fill(tbody, q.tickets, "暂无待办工单");
      table.append(thead, tbody);
      body.replaceChildren(
        el("h2", Desk.dept(code) + " · 待办工单"),
        el("p", "共" + q.tickets.length + "件，超期" + q.overdue + "件", "muted"),
        table,
      );
    } catch (err) {
      body.replaceChildren(el("p", "无法打开队列：" + err.message, "error"));
    }
  }

  function start() {
    document.getElementById("department-desk").hidden = false;
    refresh();
    if (!timer) timer = setInterval(refresh, REFRESH_MS);
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.addEventListener("desk:changed", refresh);
    document.addEventListener("desk:role", (e) => { if (e.detail.role === "department") start(); });
  });

  Desk.openQueue = openQueue;
})(window.Desk);
