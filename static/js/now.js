// The "now" header keeps moving between pushes: the running phase's clock in words,
// how long each run has been running, and the ETA, which slides with the clock once
// the running phase is past its stretched budget (incidents/now.py has the formula:
// ETA = max(eta-fixed, now + eta-rest)). Same words as the server's.
(function () {
  "use strict";
  const serverNow = Date.parse(document.body.dataset.serverNow || "");
  const offset = isNaN(serverNow) ? 0 : serverNow - Date.now();
  const now = () => Date.now() + offset;

  function words(ms) {
    const minutes = Math.floor(Math.abs(ms) / 60000);
    if (minutes < 1) return "less than a minute";
    const h = Math.floor(minutes / 60);
    const m = minutes % 60;
    if (!h) return `${m} min`;
    return m ? `${h} h ${m} min` : `${h} h`;
  }

  function tickPhase(el) {
    const started = Date.parse(el.dataset.started || "");
    const budget = Number(el.dataset.budgetSeconds) * 1000;
    if (isNaN(started) || isNaN(budget)) return;
    const elapsed = now() - started;
    const left = budget - elapsed;
    el.textContent =
      left >= 0
        ? `${words(elapsed)} in, ${words(left)} left of its ${words(budget)} budget`
        : `over its ${words(budget)} budget by ${words(-left)}`;
  }

  function tickSince(el) {
    const since = Date.parse(el.dataset.since || "");
    if (!isNaN(since)) el.textContent = words(now() - since);
  }

  function tickEta(el) {
    const fixed = Date.parse(el.dataset.etaFixed || "");
    const rest = Number(el.dataset.etaRest) * 1000;
    if (isNaN(fixed) || isNaN(rest)) return;
    const eta = new Date(Math.max(fixed, now() + rest));
    if (Math.abs(eta.getTime() - Date.parse(el.getAttribute("datetime"))) >= 1000) {
      el.setAttribute("datetime", eta.toISOString());
      if (window.ripcordTimes) window.ripcordTimes.format(el); // static/js/times.js
    }
    const lateness = el.closest("dd") && el.closest("dd").querySelector(".lateness");
    const planned = lateness ? Date.parse(lateness.dataset.plannedEnd || "") : NaN;
    if (isNaN(planned)) return;
    const behind = eta.getTime() - planned;
    lateness.textContent =
      Math.abs(behind) < 60000 ? "On plan" : behind > 0 ? `${words(behind)} behind plan` : `${words(-behind)} ahead of plan`;
  }

  function tick() {
    document.querySelectorAll(".now-clock[data-started]").forEach(tickPhase);
    document.querySelectorAll(".now-since[data-since]").forEach(tickSince);
    document.querySelectorAll("time.eta[data-eta-fixed]").forEach(tickEta);
  }
  document.body.addEventListener("ripcord:applied", tick);
  tick();
  setInterval(tick, 1000);
})();
