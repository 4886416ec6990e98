// Hot spots: a ranked panel from /v1/hotspots (same token, dates and department as the rest of
// the page); a click opens the hot spot in the drawer, with its members, each opening its
// ticket. Titles and places come readable from the API; departments and statuses in Chinese.
"use strict";

(function (Desk) {
  const { el } = Desk;
  const REFRESH_MS = 5000;
  let timer = null;

  function query() {
    const params = new URLSearchParams({ limit: "10" });
    for (const name of ["from", "to", "department"]) {
      const input = document.getElementById(name);
      if (input && input.value && !(name === "department" && Desk.me && Desk.me.role === "department")) {
        params.set(name, input.value);
      }
    }
    return "?" + params.toString();
  }

  function deptName(code) { return code === "review" ? "热线审核" : Desk.dept(code); }

  function departments(counts) {
    return Object.entries(counts || {})
      .sort((a, b) => b[1] - a[1])
      .map(([code, n]) => deptName(code) + " " + n + "件")
      .join("、");
  }

  function days(first, last) {
    const a = Desk.when(first).split(" ")[0], b = Desk.when(last).split(" ")[0];
    return a === b ? a : a + " 至 " + b;
  }

  async function openHotspot(id) {
    const body = Desk.drawer();
    try {
      const spot = await Desk.api("/v1/hotspots/" + encodeURIComponent(id));
      const list = el("ol", null, "members");
      for (const m of spot.members.slice().reverse()) {
        const li = el("li");
        // A trainer reads figures, not tickets: the titles are not links for it.
        if (Desk.me.role === "trainer") {
          li.appendChild(el("span", Desk.title(m.title)));
        } else {
          const a = el("a", Desk.title(m.title), "ticket-link");
          a.href = "#";
          a.addEventListener("click", (e) => { e.preventDefault(); Desk.openTicket(m.ticket_id); });
          li.appendChild(a);
        }
        const where = m.department ? deptName(m.department) : "热线审核";
        li.appendChild(el("span", " · " + Desk.when(m.received_at) + " · " + where + " · " + Desk.status(m.status), "muted"));
        list.appendChild(li);
      }
      const statuses = Object.entries(spot.statuses || {}).map(([s, n]) => Desk.status(s) + " " + n + "件").join("、");
      body.replaceChildren(
        el("h2", Desk.title(spot.title), "ticket-title"),
        el("p", "热度 " + spot.heat.toFixed(1) + " · 工单 " + spot.tickets + "件 · 来电人 " + spot.callers + "位 · " + days(spot.first_at, spot.last_at), "muted"),
        el("p", "地点：" + (spot.places.length ? spot.places.join("、") : "未识别")),
        el("p", "承办部门：" + (departments(spot.departments) || "–")),
        el("p", "办理状态：" + (statuses || "–")),
        el("h3", "相关工单（最新在前）"),
        list,
      );
    } catch (err) {
      body.replaceChildren(el("p", "无法打开热点：" + err.message, "error"));
    }
  }

  async function refresh() {
    if (!Desk.token() || !Desk.me) return;
    const tbody = document.querySelector("#hotspots tbody");
    try {
      const data = await Desk.api("/v1/hotspots" + query());
      if (!data.hotspots.length) {
        const tr = el("tr");
        const td = el("td", "暂无热点问题", "empty");
        td.colSpan = 6;
        tr.appendChild(td);
        tbody.replaceChildren(tr);
        return;
      }
      tbody.replaceChildren(...data.hotspots.map((h) => {
        const tr = el("tr");
        tr.dataset.hotspot = h.hotspot_id;
        tr.appendChild(el("td", h.heat.toFixed(1), "num"));
        const title = el("td");
        const link = el("a", Desk.title(h.title), "hotspot-link");
        link.href = "#";
        link.addEventListener("click", (e) => { e.preventDefault(); openHotspot(h.hotspot_id); });
        title.appendChild(link);
        tr.append(
          title, el("td", h.places.join("、") || "–"), el("td", h.tickets + "件 / " + h.callers + "人", "num"),
          el("td", days(h.first_at, h.last_at)), el("td", departments(h.departments)),
        );
        return tr;
      }));
    } catch (err) {
      tbody.replaceChildren(el("tr", "热点加载失败：" + err.message, "error"));
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.addEventListener("desk:role", () => {
      document.getElementById("hotspots").hidden = false;
      refresh();
      if (!timer) timer = setInterval(refresh, REFRESH_MS);
    });
    document.addEventListener("desk:filters", refresh);
  });

  Desk.openHotspot = openHotspot;
})(window.Desk);
