// Hot spots on the dashboard: a ranked panel from /v1/hotspots (same token, dates and
// department as the rest of the page) and, in the agent panel, the similar recent tickets
// that /v1/suggest returns with each suggestion. Kept apart from dashboard.js: it adds its
// own section and reads the agent panel's answers without changing that script.
// Text from the server is always set with textContent, never parsed as HTML.
"use strict";

(function () {
  const TOKEN_KEY = "triage.token";
  const REFRESH_MS = 5000;
  const byId = (id) => document.getElementById(id);

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function section() {
    const box = el("section");
    box.id = "hotspots";
    box.appendChild(el("h2", "热点问题 "));
    box.firstChild.appendChild(el("small", "Hot spots, ranked by heat"));
    const table = el("table");
    const head = el("tr");
    for (const [zh, en, cls] of [
      ["热度", "Heat", "num"], ["问题", "Hot spot", ""], ["地点", "Places", ""],
      ["工单", "Tickets", "num"], ["来电人", "Callers", "num"], ["时间", "Span", ""],
      ["部门", "Departments", ""],
    ]) {
      const th = el("th", zh + " ", cls);
      th.appendChild(el("small", en));
      head.appendChild(th);
    }
    const thead = el("thead");
    thead.appendChild(head);
    table.appendChild(thead);
    table.appendChild(el("tbody"));
    box.appendChild(table);
    const detail = el("div");
    detail.id = "hotspot-detail";
    box.appendChild(detail);
    const agent = byId("agent");
    agent.parentNode.insertBefore(box, agent);
    return box;
  }

  async function get(path) {
    const headers = { Accept: "application/json" };
    const token = localStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = "Bearer " + token;
    const response = await fetch(path, { headers });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error ? body.error.message : response.statusText);
    return body;
  }

  function query() {
    const params = new URLSearchParams({ limit: "10" });
    for (const name of ["from", "to", "department"]) {
      const input = byId(name);
      if (input && input.value) params.set(name, input.value);
    }
    return "?" + params.toString();
  }

  function departments(counts) {
    return Object.entries(counts || {})
      .sort((a, b) => b[1] - a[1])
      .map(([code, n]) => code + " " + n)
      .join(", ");
  }

  async function showDetail(id) {
    const box = byId("hotspot-detail");
    try {
      const spot = await get("/v1/hotspots/" + encodeURIComponent(id));
      const list = el("ol");
      for (const m of spot.members) {
        const parts = [m.ticket_id, m.title || "", m.department || "–", m.status || "–"];
        list.appendChild(el("li", parts.join(" · ")));
      }
      box.replaceChildren(el("h3", spot.title + " (" + spot.tickets + ")"), list);
    } catch (error) {
      box.replaceChildren(el("p", String(error.message), "error"));
    }
  }

  async function refresh(box) {
    if (!localStorage.getItem(TOKEN_KEY)) return;
    try {
      const data = await get("/v1/hotspots" + query());
      const rows = data.hotspots.map((h) => {
        const tr = el("tr");
        tr.appendChild(el("td", h.heat.toFixed(1), "num"));
        const title = el("td");
        const link = el("a", h.title || h.hotspot_id);
        link.href = "#hotspot-detail";
        link.addEventListener("click", () => showDetail(h.hotspot_id));
        title.appendChild(link);
        tr.appendChild(title);
        tr.appendChild(el("td", h.places.join("、")));
        tr.appendChild(el("td", h.tickets, "num"));
        tr.appendChild(el("td", h.callers, "num"));
        tr.appendChild(el("td", h.first_at.slice(0, 10) + " – " + h.last_at.slice(0, 10)));
        tr.appendChild(el("td", departments(h.departments)));
        return tr;
      });
      box.querySelector("tbody").replaceChildren(...rows);
    } catch (error) {
      box.querySelector("tbody").replaceChildren(el("tr", String(error.message), "error"));
    }
  }

  function renderSimilar(answer) {
    let box = byId("s-similar");
    if (!box) {
      box = el("div");
      box.id = "s-similar";
      byId("s-result").appendChild(box);
    }
    const parts = [];
    const heading = el("h3", "相似近期工单 ");
    heading.appendChild(el("small", "Similar recent tickets"));
    parts.push(heading);
    if (answer.hotspot) {
      parts.push(el("p", "将并入热点 · joins hot spot: " + answer.hotspot.title +
        " (" + answer.hotspot.tickets + ")"));
    }
    const list = el("ol");
    for (const s of answer.similar || []) {
      list.appendChild(el("li", [s.ticket_id, s.similarity.toFixed(2),
        s.department || "–", s.status || "–"].join(" · ")));
    }
    parts.push(list.childElementCount ? list : el("p", "无 · none"));
    box.replaceChildren(...parts);
  }

  // The agent panel's own script asks /v1/suggest; read its answers as they arrive.
  const originalFetch = window.fetch.bind(window);
  window.fetch = async function (input, init) {
    const response = await originalFetch(input, init);
    const url = typeof input === "string" ? input : input.url;
    if (url && url.endsWith("/v1/suggest") && response.ok) {
      response.clone().json().then(renderSimilar).catch(() => {});
    }
    return response;
  };

  document.addEventListener("DOMContentLoaded", () => {
    const box = section();
    refresh(box);
    setInterval(() => refresh(box), REFRESH_MS);
    const controls = byId("controls");
    if (controls) controls.addEventListener("submit", () => setTimeout(() => refresh(box), 0));
  });
})();
