// The agent's desk: the hotline's review queue (GET /v1/review: review and returned tickets,
// oldest first, each with its dispatch deadline) opening into the ticket drawer, and the same
// suggestions for a call in progress (POST /v1/suggest). Reads nothing an agent may not.
"use strict";

(function (Desk) {
  const { el } = Desk;
  const REFRESH_MS = 5000;
  let timer = null;

  function row(t) {
    const tr = el("tr");
    tr.dataset.ticket = t.ticket_id;
    const clock = Desk.clock(t.due);
    if (clock.late) tr.className = "late";
    const title = el("td");
    const a = el("a", Desk.title(t.title), "ticket-link");
    a.href = "#";
    a.addEventListener("click", (e) => { e.preventDefault(); Desk.openTicket(t.ticket_id); });
    title.appendChild(a);
    const kind = t.status === "returned"
      ? "退回（" + Desk.dept(t.returned_by) + "）"
      : "待审核";
    const suggested = t.suggested_department ? Desk.dept(t.suggested_department) : "–";
    tr.append(
      el("td", Desk.when(t.waiting_since)), title, el("td", kind), el("td", Desk.channel(t.channel)),
      el("td", Desk.district(t.district)), el("td", suggested), el("td", clock.text, clock.late ? "late-text" : ""),
    );
    return tr;
  }

  async function refresh() {
    if (!Desk.me || Desk.me.role !== "agent") return;
    try {
      const q = await Desk.api("/v1/review");
      const body = document.querySelector("#review-queue tbody");
      if (!q.tickets.length) {
        const tr = el("tr");
        const td = el("td", "审核队列已清空", "empty");
        td.colSpan = 7;
        tr.appendChild(td);
        body.replaceChildren(tr);
      } else {
        body.replaceChildren(...q.tickets.map(row));
      }
      document.getElementById("review-count").textContent =
        "共" + q.tickets.length + "件，超期" + q.overdue + "件；时限为到件或退回后" + q.deadline_hours + "个工作小时";
      Desk.setStatus("更新于 " + new Date().toLocaleTimeString("zh-CN") + " · 每5秒自动刷新", false);
    } catch (err) {
      Desk.setStatus("加载失败：" + err.message, true);
    }
  }

  async function suggest(event) {
    event.preventDefault();
    const payload = { body: document.getElementById("s-body").value };
    const title = document.getElementById("s-title").value;
    const location = document.getElementById("s-location").value;
    if (title) payload.title = title;
    if (location) payload.location = location;
    const out = document.getElementById("s-result");
    try {
      const res = await Desk.api("/v1/suggest", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload),
      });
      const verdict = el("p");
      verdict.appendChild(el("span", res.route === "routed" ? "可自动派单" : "建议人工审核", res.route === "routed" ? "routed" : "review-tag"));
      verdict.appendChild(document.createTextNode(" · 置信度 " + (res.confidence * 100).toFixed(1) + "%"));
      out.replaceChildren(
        verdict,
        el("h3", "推荐承办部门"),
        Desk.suggestionList(res.suggestions || [], null),
        el("h3", "判断依据（已脱敏文本）"),
        Desk.maskedText(res.text.title, res.text.body, res.evidence),
        Desk.related(res, null),
      );
    } catch (err) {
      out.replaceChildren(el("p", "获取建议未成功：" + err.message, "error"));
    }
    out.hidden = false;
  }

  function start() {
    document.getElementById("agent-desk").hidden = false;
    Desk.fillDatalist();
    refresh();
    if (!timer) timer = setInterval(refresh, REFRESH_MS);
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("suggest-form").addEventListener("submit", suggest);
    document.addEventListener("desk:changed", refresh);
    document.addEventListener("desk:role", (e) => { if (e.detail.role === "agent") start(); });
  });
})(window.Desk);
