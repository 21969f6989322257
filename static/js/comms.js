// Communications: count down to each audience's next update (the server says when it
// is overdue: the banner and the timeline entry come from the control worker).
(function () {
  "use strict";
  function pad(n) { return String(n).padStart(2, "0"); }
  function tick() {
    const now = Date.now();
    for (const el of document.querySelectorAll("[data-countdown]")) {
      const left = Math.round((Date.parse(el.getAttribute("data-countdown")) - now) / 1000);
      const s = Math.abs(left);
      const text = Math.floor(s / 60) + ":" + pad(s % 60);
      el.textContent = left >= 0 ? "in " + text : "overdue by " + text;
    }
  }
  tick();
  setInterval(tick, 1000);
})();
