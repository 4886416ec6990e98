// One ticket in a side drawer, opened from any queue, table row or hot spot: masked text with
// the model's evidence, the timeline, and what the token's role may do with it (an agent
// dispatches, a department accepts, returns or resolves; a supervisor reads).
"use strict";

(function (Desk) {
  const { el } = Desk;
  const RETURN_REASONS = [
    "不属于本部门职责", "属其他区（镇街）管辖", "诉求不明确，需补充信息", "已由其他渠道办理",
    "重复工单", "涉及多个部门，需协调",
  ];

  function eventId(kind) {
    const rand = Math.random().toString(36).slice(2, 10);
    return "desk-" + kind + "-" + Date.now().toString(36) + "-" + rand;
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
      mark.title = r.term + "（权重 " + Number(r.weight).toFixed(3) + "）";
      parts.push(mark);
      pos = end;
    }
    if (pos < text.length) parts.push(document.createTextNode(text.slice(pos)));
    node.replaceChildren(...parts);
  }

  function spansOf(evidence) {
    const spans = { title: [], body: [] };
    for (const e of evidence || []) {
      for (const s of e.spans || []) {
        const span = Array.isArray(s) ? { field: s[0], start: s[1], end: s[2] } : s;
        if (spans[span.field]) spans[span.field].push({ start: span.start, end: span.end, term: e.term, weight: e.weight });
      }
    }
    return spans;
  }

  function maskedText(title, body, evidence) {
    const spans = spansOf(evidence);
    const box = el("div", null, "masked-box");
    const t = el("p", null, "masked");
    const b = el("p", null, "masked");
    const strong = el("b");
    highlight(strong, title || "", spans.title);
    t.appendChild(strong);
    highlight(b, body || "", spans.body);
    if (title) box.appendChild(t);
    box.appendChild(b);
    return box;
  }

  // The same rule as the server's (triage/core/hotspots/titles.py), for texts it did not title.
  function firstClause(body) {
    const text = (body || "").trim()
      .replace(/^(?:(?:市民|群众|网民|来电人|来电|投诉人|反映人|业主|居民)+(?:来电|留言|致电|投诉|反映|咨询|称|表示)*|网友留言|关于)[：:，,\s]*/, "")
      .replace(/^(?:反映|投诉|称|表示|咨询)[：:，,\s]*/, "").trim()
      .replace(/^[^，。：:,]{0,20}?(?:留言|反映|来电|投诉|致电|称)[称]?[：:，,]\s*/, "");
    const parts = text.split(/[，。；！？,.;!?\n]/).map((p) => p.trim()).filter((p) => p);
    let first = parts.length ? parts[0] : text;
    if (first.length < 6 && parts.length > 1) first = first + "，" + parts[1];
    return first.length > 24 ? first.slice(0, 23) + "…" : first;
  }

  function ticketTitle(t) { return Desk.title(t.title || firstClause(t.body)); }

  function suggestionList(suggestions, onPick) {
    const list = el("ol", null, "suggestions");
    for (const s of suggestions) {
      const li = el("li");
      const name = s.department_name || Desk.dept(s.department);
      li.appendChild(el("span", name + " · " + (s.probability * 100).toFixed(1) + "%"));
      const bar = el("span", null, "bar");
      bar.style.width = Math.round((s.probability || 0) * 120) + "px";
      li.appendChild(bar);
      if (onPick && s.department) {
        const button = el("button", "派至此部门", "dispatch");
        button.title = "派至" + name;
        button.type = "button";
        button.dataset.department = s.department;
        button.addEventListener("click", () => onPick(s.department));
        li.appendChild(button);
      }
      list.appendChild(li);
    }
    return list;
  }

  // Similar recent tickets and the hot spot a text joins (from POST /v1/suggest).
  function related(answer, exclude) {
    const box = el("div", null, "related");
    box.appendChild(el("h3", "相似近期工单"));
    if (answer.hotspot && answer.hotspot.tickets >= 2) {
      const p = el("p", null, "hotspot-join");
      p.appendChild(document.createTextNode("所属热点："));
      const name = (answer.hotspot.title || "").trim() || "同类问题";
      const a = el("a", name + "（已有" + answer.hotspot.tickets + "件）", "hotspot-link");
      a.href = "#";
      a.addEventListener("click", (e) => { e.preventDefault(); if (Desk.openHotspot) Desk.openHotspot(answer.hotspot.hotspot_id); });
      p.appendChild(a);
      box.appendChild(p);
    }
    const list = el("ol", null, "similar");
    for (const s of (answer.similar || []).filter((x) => x.ticket_id !== exclude)) {
      const li = el("li");
      const a = el("a", s.title ? Desk.title(s.title) : "…", "ticket-link");
      // Untitled: titled from the ticket's own text, as everywhere else.
      if (!s.title) Desk.api("/v1/tickets/" + encodeURIComponent(s.ticket_id)).then((t) => { a.textContent = ticketTitle(t); }).catch(() => { a.textContent = "（无标题）"; });
      a.href = "#";
      a.addEventListener("click", (e) => { e.preventDefault(); open(s.ticket_id); });
      li.appendChild(a);
      const where = s.department_name || (s.department ? Desk.dept(s.department) : "热线");
      const state = s.status_label || Desk.status(s.status);
      li.appendChild(el("span", " · " + where + " · " + state + " · 相似度" + Math.round(s.similarity * 100) + "%", "muted"));
      list.appendChild(li);
    }
    box.appendChild(list.childElementCount ? list : el("p", "暂无足够相似的近期工单", "muted"));
    return box;
  }

  function timeline(entries) {
    const list = el("ol", null, "timeline");
    for (const h of entries) {
      const li = el("li");
      li.appendChild(el("span", Desk.when(h.at), "when"));
      const what = [Desk.status(h.status)];
      what.push(h.status === "review" ? "热线审核" : Desk.dept(h.department));
      what.push(Desk.BY[h.by] || "系统");
      li.appendChild(el("span", what.join(" · ")));
      if (h.reason) li.appendChild(el("div", (h.status === "resolved" ? "办结说明：" : "原因：") + h.reason, "reason"));
      if (h.suggested_department) li.appendChild(el("div", "建议改派：" + Desk.dept(h.suggested_department), "reason"));
      list.appendChild(li);
    }
    return list;
  }

  async function send(ticketId, event, note) {
    try {
      const body = Object.assign({ event_id: eventId(event.type) }, event);
      await Desk.api("/v1/tickets/" + encodeURIComponent(ticketId) + "/events", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      document.dispatchEvent(new CustomEvent("desk:changed", { detail: { ticketId } }));
      await open(ticketId, note);
    } catch (err) {
      showNote("操作未成功：" + err.message, true);
    }
  }

  function deptPicker(label, onPick) {
    const form = el("form", null, "picker");
    const input = el("input");
    input.setAttribute("list", "department-names");
    input.placeholder = "输入部门名称查找";
    input.className = "dept-search";
    const button = el("button", label);
    button.type = "submit";
    form.append(input, button);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const found = Desk.list().find((d) => d.name === input.value.trim());
      if (!found) { showNote("没有名为“" + input.value + "”的部门，请从列表中选择", true); return; }
      onPick(found.code);
    });
    return form;
  }

  function agentActions(t) {
    const box = el("div", null, "actions");
    if (!["review", "returned", "routed", "reassigned"].includes(t.status)) {
      box.appendChild(el("p", "该工单" + Desk.status(t.status) + "，无需派单。", "muted"));
      return box;
    }
    const dispatch = (code) => send(t.ticket_id, { type: "reassign", department: code }, "已派至" + Desk.dept(code));
    const last = (t.decisions || []).slice(-1)[0] || {};
    const returned = (t.timeline || []).filter((h) => h.status === "returned").slice(-1)[0];
    box.appendChild(el("h3", "派单"));
    if (returned && returned.suggested_department) {
      const b = el("button", "派至退单建议部门：" + Desk.dept(returned.suggested_department), "dispatch");
      b.type = "button";
      b.dataset.department = returned.suggested_department;
      b.addEventListener("click", () => dispatch(returned.suggested_department));
      box.appendChild(b);
    }
    box.appendChild(suggestionList(last.top_k || [], dispatch));
    box.appendChild(deptPicker("派单", dispatch));
    return box;
  }

  function departmentActions(t) {
    const box = el("div", null, "actions");
    const mine = Desk.me && t.department === Desk.me.department;
    if (!mine || !["routed", "reassigned", "accepted"].includes(t.status)) {
      box.appendChild(el("p", "该工单" + Desk.status(t.status) + "，本部门无待办。", "muted"));
      return box;
    }
    const dept = Desk.me.department;
    box.appendChild(el("h3", "办理"));
    const row = el("div", null, "buttons");
    if (t.status !== "accepted") {
      const accept = el("button", "受理", "accept");
      accept.type = "button";
      accept.addEventListener("click", () => send(t.ticket_id, { type: "accept", department: dept }, "已受理"));
      row.appendChild(accept);
    }
    box.appendChild(row);
    if (t.status === "accepted") {
      const form = el("form", null, "resolve-form");
      const note = el("textarea");
      note.rows = 2; note.maxLength = 500; note.placeholder = "办结说明（办理结果、答复情况）"; note.required = true;
      note.className = "resolve-note";
      const b = el("button", "办结");
      b.type = "submit";
      form.append(note, b);
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        send(t.ticket_id, { type: "resolve", department: dept, reason: note.value.trim() }, "已办结");
      });
      box.appendChild(form);
    }
    const form = el("form", null, "return-form");
    form.appendChild(el("h3", "退单"));
    const reason = el("select");
    reason.className = "return-reason";
    reason.appendChild(new Option("请选择退单原因", ""));
    for (const r of RETURN_REASONS) reason.appendChild(new Option(r, r));
    reason.required = true;
    const detail = el("input");
    detail.className = "return-detail"; detail.maxLength = 300; detail.placeholder = "补充说明";
    const suggest = el("select");
    suggest.className = "return-suggest";
    suggest.appendChild(new Option("建议承办部门（可不选）", ""));
    for (const d of Desk.list()) if (d.code !== dept) suggest.appendChild(new Option(d.name, d.code));
    const b = el("button", "退单", "danger");
    b.type = "submit";
    form.append(reason, detail, suggest, b);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = reason.value + (detail.value.trim() ? "：" + detail.value.trim() : "");
      const event = { type: "return", department: dept, reason: text };
      if (suggest.value) event.suggested_department = suggest.value;
      send(t.ticket_id, event, "已退回热线");
    });
    box.appendChild(form);
    return box;
  }

  function showNote(text, isError) {
    const note = document.getElementById("drawer-note");
    if (!note) return;
    note.textContent = text;
    note.className = isError ? "error" : "ok";
  }

  function drawer() {
    const box = document.getElementById("drawer");
    box.hidden = false;
    return document.getElementById("drawer-body");
  }

  async function open(ticketId, note) {
    const body = drawer();
    try {
      const t = await Desk.api("/v1/tickets/" + encodeURIComponent(ticketId));
      const last = (t.decisions || []).slice(-1)[0] || {};
      const parts = [el("h2", ticketTitle(t), "ticket-title")];
      parts.push(el("p", null, "drawer-note"));
      parts[1].id = "drawer-note";
      const meta = el("dl", null, "meta");
      for (const [k, v] of [
        ["工单号", t.ticket_id], ["状态", Desk.status(t.status)], ["当前部门", Desk.dept(t.department)],
        ["渠道", Desk.channel(t.channel)], ["区域", Desk.district(t.district)], ["来件时间", Desk.when(t.received_at)],
      ]) {
        meta.appendChild(el("dt", k));
        meta.appendChild(el("dd", v));
      }
      parts.push(meta);
      parts.push(el("h3", "诉求内容（已脱敏）"));
      parts.push(maskedText(t.title, t.body, last.evidence));
      if (t.location) parts.push(el("p", "地点：" + t.location, "muted"));
      const role = Desk.me ? Desk.me.role : null;
      if (role === "agent") parts.push(agentActions(t));
      if (role === "department") parts.push(departmentActions(t));
      parts.push(el("h3", "办理经过"));
      parts.push(timeline(t.timeline || []));
      const relatedBox = el("div");
      parts.push(relatedBox);
      body.replaceChildren(...parts);
      body.dataset.ticket = t.ticket_id;
      if (note) showNote(note, false);
      if (role === "agent" || role === "supervisor") {
        const payload = { body: t.body || "" };
        if (t.title) payload.title = t.title;
        const answer = await Desk.api("/v1/suggest", {
          method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload),
        });
        relatedBox.replaceChildren(related(answer, t.ticket_id));
      }
    } catch (err) {
      body.replaceChildren(el("p", "无法打开工单：" + err.message, "error"));
    }
  }

  function fillDatalist() {
    const list = document.getElementById("department-names");
    if (!list || list.childElementCount) return;
    for (const d of Desk.list()) list.appendChild(new Option(d.name));
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("drawer-close").addEventListener("click", () => {
      document.getElementById("drawer").hidden = true;
    });
    document.addEventListener("keydown", (e) => { if (e.key === "Escape") document.getElementById("drawer").hidden = true; });
  });

  Object.assign(Desk, {
    openTicket: (id, note) => { fillDatalist(); return open(id, note); },
    highlight, maskedText, suggestionList, related, deptPicker, ticketTitle, drawer, fillDatalist,
  });
})(window.Desk);
