// Times people can read: every <time datetime data-local> shows this browser's local time
// (with its zone, and the date where it matters), UTC on hover (title), and, with
// data-relative, "3 min ago" / "in 12 min" that ticks. The server writes UTC as the
// fallback text, so a page without scripts is still right.
//   data-local="hm"        14:05            data-local="time"  14:05:09
//   data-local="datetime"  3 Dec 14:05:09   data-local="full"  Thu 3 Dec 2026, 14:05 CET
//   data-zone adds the zone's short name (14:05 CET); elsewhere the zone is named once,
//   in the page's legend ([data-zone-name]).
// Pages pushed in later (live.js) are formatted as they arrive (a MutationObserver).
(function () {
  "use strict";
  const serverNow = Date.parse(document.body.dataset.serverNow || "");
  const offset = isNaN(serverNow) ? 0 : serverNow - Date.now();
  const now = () => Date.now() + offset;
  const locale = undefined; // the browser's
  const hm = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  const styles = {
    hm,
    time: { ...hm, second: "2-digit" },
    datetime: { day: "numeric", month: "short", ...hm, second: "2-digit" },
    full: { weekday: "short", day: "numeric", month: "short", year: "numeric", ...hm, timeZoneName: "short" },
  };
  const formatters = new Map();
  function formatter(style, zone) {
    const key = style + (zone ? "+zone" : "");
    if (!formatters.has(key)) {
      const options = zone ? { ...styles[style], timeZoneName: "short" } : styles[style];
      formatters.set(key, new Intl.DateTimeFormat(locale, options));
    }
    return formatters.get(key);
  }

  function utc(date) {
    return date.toISOString().slice(0, 19).replace("T", " ") + " UTC";
  }

  // "just now", "45 s ago", "3 min ago", "2 h 5 min ago", "in 12 min", "3 days ago"
  function relative(ms) {
    const future = ms > 0;
    let s = Math.round(Math.abs(ms) / 1000);
    if (s < 10) return "just now";
    let words;
    if (s < 60) words = `${s} s`;
    else if (s < 3600) words = `${Math.floor(s / 60)} min`;
    else if (s < 86400) {
      const h = Math.floor(s / 3600);
      const m = Math.floor((s % 3600) / 60);
      words = m ? `${h} h ${m} min` : `${h} h`;
    } else {
      const d = Math.floor(s / 86400);
      words = d === 1 ? "1 day" : `${d} days`;
    }
    return future ? `in ${words}` : `${words} ago`;
  }

  function format(el) {
    const at = new Date(el.getAttribute("datetime"));
    if (isNaN(at)) return;
    if (el.dataset.formatted !== el.getAttribute("datetime")) {
      const style = styles[el.dataset.local] ? el.dataset.local : "datetime";
      const text = formatter(style, el.hasAttribute("data-zone")).format(at);
      el.title = utc(at);
      el.dataset.formatted = el.getAttribute("datetime");
      let abs = el.querySelector(".abs");
      if (!abs) {
        el.textContent = "";
        abs = document.createElement("span");
        abs.className = "abs";
        el.append(abs);
      }
      abs.textContent = text;
    }
    if (el.hasAttribute("data-relative")) {
      let rel = el.querySelector(".ago");
      if (!rel) {
        rel = document.createElement("span");
        rel.className = "ago";
        el.append(rel);
      }
      rel.textContent = ` (${relative(at.getTime() - now())})`;
    }
  }

  function formatAll(root) {
    if (root.matches && root.matches("time[data-local]")) format(root);
    if (root.querySelectorAll) root.querySelectorAll("time[data-local]").forEach(format);
  }

  // The zone, named once where a page lists times (e.g. the timeline's legend).
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
  document.querySelectorAll("[data-zone-name]").forEach((el) => (el.textContent = zone));

  formatAll(document);
  new MutationObserver((records) => {
    for (const record of records) for (const node of record.addedNodes) if (node.nodeType === 1) formatAll(node);
  }).observe(document.body, { childList: true, subtree: true });
  setInterval(() => document.querySelectorAll("time[data-local][data-relative]").forEach(format), 1000);

  window.ripcordTimes = { relative, format, now };
})();
