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

// A draft being edited survives pushes: a send by someone else re-renders the drafts, and
// the text a person is typing is put back into its box. Sending hands the text over.
(function () {
  "use strict";
  const edited = new Map();
  document.addEventListener("input", (event) => {
    const box = event.target;
    if (box instanceof HTMLTextAreaElement && box.closest("form.comms-draft")) edited.set(box.id, box.value);
  });
  document.addEventListener("htmx:beforeRequest", (event) => {
    const elt = event.detail && event.detail.elt;
    const form = elt instanceof Element ? elt.closest("form.comms-draft") : null;
    if (form) {
      const box = form.querySelector("textarea");
      if (box) edited.delete(box.id);
    }
  });
  document.body.addEventListener("ripcord:applied", () => {
    for (const [id, value] of edited) {
      const box = document.getElementById(id);
      if (box && box.value !== value) box.value = value;
    }
  });
})();
