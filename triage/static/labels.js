// What every desk shares: the token, the API call, who the token is (GET /v1/me), and the
// Chinese names staff read instead of codes (departments and districts from /v1/departments,
// statuses, channels, events). Text from the server is always set with textContent.
"use strict";

window.Desk = (function () {
  const TOKEN_KEY = "triage.token";
  const names = {};
  const districts = {};
  let loaded = false;

  const STATUS = {
    review: "待审核", routed: "待受理", reassigned: "改派待受理", accepted: "已受理",
    returned: "已退回", resolved: "已办结",
  };
  const CHANNEL = {
    phone: "电话", wechat: "微信", app: "App", web: "网站", sms: "短信", email: "邮件",
    weibo: "微博", letter: "信件", visit: "来访", mini_program: "小程序",
  };
  const BY = { triage: "系统", agent: "坐席", department: "部门", supervisor: "主管" };
  const EVENT = { accept: "受理", return: "退单", resolve: "办结", reassign: "派单" };
  const ROLE = { agent: "坐席工作台", department: "部门工作台", supervisor: "主管视图", trainer: "主管视图（培训员）" };
  const WAITING = { accept: "待受理", resolve: "待办结" };

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function token() { return localStorage.getItem(TOKEN_KEY); }

  async function api(path, options) {
    const headers = Object.assign({ Accept: "application/json" }, (options && options.headers) || {});
    const t = token();
    if (t) headers.Authorization = "Bearer " + t;
    const response = await fetch(path, Object.assign({}, options, { headers }));
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const message = body.error ? body.error.message : response.statusText;
      const err = new Error("请求未成功（" + response.status + "）：" + message);
      err.status = response.status;
      throw err;
    }
    return body;
  }

  async function load() {
    if (loaded || !token()) return;
    const body = await api("/v1/departments");
    for (const d of body.departments || []) names[d.code] = d.name;
    for (const d of body.districts || []) districts[d.code] = d.name;
    loaded = true;
  }

  function list() {
    return Object.entries(names).map(([code, name]) => ({ code, name }));
  }

  function dept(code) { return code ? names[code] || "（已撤销的部门）" : "热线（待审核/退回）"; }
  function status(s) { return s ? STATUS[s] || "（未知状态）" : "–"; }
  function channel(c) { return c ? CHANNEL[c] || "其他渠道" : "（无）"; }
  function district(code) { return code ? districts[code] || "（未识别）" : "（未识别）"; }

  // Times as the centre reads them, in its own zone whatever the browser's.
  const LOCAL = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });

  function when(iso) {
    if (!iso) return "–";
    const parts = {};
    for (const p of LOCAL.formatToParts(new Date(iso))) parts[p.type] = p.value;
    return parts.month + "月" + parts.day + "日 " + parts.hour + ":" + parts.minute;
  }

  function span(hours) {
    const h = Math.abs(hours);
    if (h < 1) return Math.max(1, Math.round(h * 60)) + "分钟";
    if (h < 48) {
      const minutes = Math.round(h * 60);
      return Math.floor(minutes / 60) + "小时" + (minutes % 60 ? (minutes % 60) + "分" : "");
    }
    const whole = Math.round(h);
    return Math.floor(whole / 24) + "天" + (whole % 24 ? (whole % 24) + "小时" : "");
  }

  // The deadline clock: time left, or how long it is overdue.
  function clock(dueIso) {
    const hours = (new Date(dueIso).getTime() - Date.now()) / 3600000;
    return hours > 0
      ? { text: "剩余" + span(hours), late: false }
      : { text: "已超期" + span(hours), late: true };
  }

  function title(text) {
    const t = (text || "").trim();
    return t || "（无标题）";
  }

  return {
    TOKEN_KEY, STATUS, CHANNEL, BY, EVENT, ROLE, WAITING,
    el, token, api, load, list, dept, status, channel, district, when, span, clock, title,
    names, districts,
  };
})();
