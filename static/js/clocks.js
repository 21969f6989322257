// Phase clocks, the chart's "now" line and the running phase's bar, ticking in the browser
// from the server's times.
// The server pushes only state changes (on time → at risk → overrun); the seconds are local,
// corrected by the offset between this browser's clock and the server's.
(function () {
  "use strict";
  const body = document.body;
  const serverNow = Date.parse(body.dataset.serverNow || "");
  const offset = isNaN(serverNow) ? 0 : serverNow - Date.now();
  const now = () => Date.now() + offset;

  function mmss(ms) {
    let s = Math.floor(Math.abs(ms) / 1000);
    const h = Math.floor(s / 3600);
    s -= h * 3600;
    const m = Math.floor(s / 60);
    const sec = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
  }

  function tickClock(el) {
    const started = Date.parse(el.dataset.started || "");
    const ended = Date.parse(el.dataset.ended || "");
    const end = Date.parse(el.dataset.plannedEnd || "");
    const text = el.querySelector("[data-clock-text]");
    if (!text || isNaN(started) || !isNaN(ended)) return;
    const t = now();
    const left = end - t;
    text.textContent = `${mmss(t - started)} elapsed · ` + (left >= 0 ? `${mmss(left)} left` : `over by ${mmss(left)}`);
  }

  function tickChart(svg) {
    const line = svg.querySelector("line.now");
    if (!line) return;
    const start = Date.parse(svg.dataset.start);
    const end = Date.parse(svg.dataset.end);
    const labelW = Number(svg.dataset.labelW);
    const width = Number(svg.dataset.width) - labelW - Number(svg.dataset.rightPad);
    const x = labelW + (width * (Math.min(now(), end) - start)) / (end - start);
    line.setAttribute("x1", x.toFixed(1));
    line.setAttribute("x2", x.toFixed(1));
    // A running phase's bar ends "now" too; nothing is pushed until its clock changes state,
    // which may be half an hour away, so the browser stretches it along with the line.
    svg.querySelectorAll("rect.actual.running").forEach((bar) => {
      bar.setAttribute("width", Math.max(1, x - Number(bar.getAttribute("x"))).toFixed(1));
    });
  }

  function tick() {
    document.querySelectorAll(".clock[data-started]").forEach(tickClock);
    document.querySelectorAll("svg.gantt-svg").forEach(tickChart);
  }

  // Overruns, for the incident commander. The banner holds a line for every phase that is
  // past its budget now, whenever the IC looks: opened late, reloaded, or turning while
  // watched. A dismissed line stays dismissed for that phase, across reloads (localStorage,
  // keyed by incident and phase). A browser notification only for an overrun that happens
  // while the page is open: the ones already there at load were news to nobody's lock
  // screen, and a reload must not repeat them.
  const banner = document.getElementById("overrun-banner");
  // Read each time: a handover changes it live (static/js/controls.js).
  const isIc = () => body.dataset.isIc === "true";
  const overrunClocks = () => document.querySelectorAll('.clock[data-state="overrun"]');
  const notified = new Set(Array.from(overrunClocks(), (el) => el.dataset.phase));
  const dismissKey = (phase) => `ripcord.overrun-dismissed.${banner.dataset.incident}.${phase}`;
  const isDismissed = (phase) => {
    try {
      return localStorage.getItem(dismissKey(phase)) === "1";
    } catch {
      return false; // storage refused (private mode): the banner just comes back
    }
  };

  function bannerLine(phase, message) {
    const line = document.createElement("p");
    line.className = "overrun";
    line.dataset.phase = phase;
    const text = document.createElement("span");
    text.className = "overrun-text";
    text.textContent = message;
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "link overrun-dismiss";
    dismiss.textContent = "Dismiss";
    dismiss.setAttribute("aria-label", `Dismiss: ${message}`);
    dismiss.addEventListener("click", () => {
      try {
        localStorage.setItem(dismissKey(phase), "1");
      } catch {
        // not remembered: dismissed on this page only
      }
      line.remove();
      banner.hidden = !banner.querySelector(".overrun");
    });
    line.append(text, " ", dismiss);
    return line;
  }

  function noticeOverruns() {
    if (!banner) return;
    if (!isIc()) {
      banner.hidden = true;
      return;
    }
    const overrun = new Map(Array.from(overrunClocks(), (el) => [el.dataset.phase, el]));
    for (const [phase, el] of overrun) {
      const title = el.closest(".phase-head")?.querySelector("h2")?.textContent || "A phase";
      const message = `${title} is past its time budget.`;
      if (!notified.has(phase)) {
        notified.add(phase);
        if ("Notification" in window && Notification.permission === "granted") {
          new Notification("Ripcord: phase overrun", { body: message });
        }
      }
      if (!isDismissed(phase) && !banner.querySelector(`.overrun[data-phase="${phase}"]`)) {
        banner.append(bannerLine(phase, message));
      }
    }
    // A phase that ended (late) is no longer overrun: its line goes.
    for (const line of banner.querySelectorAll(".overrun")) {
      if (!overrun.has(line.dataset.phase)) line.remove();
    }
    banner.hidden = !banner.querySelector(".overrun");
  }

  body.addEventListener("ripcord:applied", () => {
    noticeOverruns();
    tick();
  });
  noticeOverruns();
  tick();
  setInterval(tick, 1000);
})();
