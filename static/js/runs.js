// The running step on the incident page: its log box follows new lines, its elapsed time
// ticks, and a phase that ends folds its steps away.
//
// live.js replaces a run's log box (<pre class="run-tail">) with a new copy on every push,
// which would start at its top. Here each box remembers whether the reader was at its
// bottom: a box being followed scrolls to the newest line after each push; one the reader
// scrolled up in keeps its place (paused) until they scroll back to the bottom.
(function () {
  "use strict";
  const body = document.body;
  const serverNow = Date.parse(body.dataset.serverNow || "");
  const offset = isNaN(serverNow) ? 0 : serverNow - Date.now();
  const SLACK = 8; // px: "at the bottom" despite rounding

  const boxes = new Map(); // run-tail id -> {follow, top}
  const atBottom = (el) => el.scrollHeight - el.scrollTop - el.clientHeight <= SLACK;

  function mark(box, follow) {
    box.classList.toggle("paused", !follow);
    const hint = box.parentElement && box.parentElement.querySelector(`.tail-paused[data-for="${box.id}"]`);
    if (!follow && !hint) {
      const note = document.createElement("button");
      note.type = "button";
      note.className = "link tail-paused";
      note.dataset.for = box.id;
      note.textContent = "Paused · follow new lines";
      note.addEventListener("click", () => {
        const current = document.getElementById(note.dataset.for);
        if (current) {
          current.scrollTop = current.scrollHeight;
          remember(current);
        }
      });
      box.after(note);
    } else if (follow && hint) {
      hint.remove();
    }
  }

  function remember(box) {
    const follow = atBottom(box);
    boxes.set(box.id, { follow, top: box.scrollTop });
    mark(box, follow);
  }

  function settle() {
    document.querySelectorAll("pre.run-tail[id]").forEach((box) => {
      const seen = boxes.get(box.id);
      if (!seen || seen.follow) {
        box.scrollTop = box.scrollHeight;
        boxes.set(box.id, { follow: true, top: box.scrollTop });
        mark(box, true);
      } else {
        box.scrollTop = seen.top;
        mark(box, false);
      }
    });
  }

  // Scroll events do not bubble; capture sees every box's, including copies pushed later.
  // A scroll event can arrive after its box was replaced: the copy being replaced is read
  // just before the swap (live.js says "ripcord:replace"), and a detached box is ignored.
  const isBox = (el) => el instanceof Element && el.matches("pre.run-tail[id]");
  document.addEventListener(
    "scroll",
    (event) => {
      if (isBox(event.target) && event.target.isConnected) remember(event.target);
    },
    true,
  );
  body.addEventListener("ripcord:replace", (event) => {
    if (isBox(event.target)) remember(event.target);
  });

  // --- elapsed time of running steps -----------------------------------------------
  function elapsed(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    const rest = String(s % 60).padStart(2, "0");
    return m < 60 ? `${m} min ${rest} s` : `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
  }

  function tick() {
    const now = Date.now() + offset;
    document.querySelectorAll(".run-elapsed[data-since]").forEach((el) => {
      const since = Date.parse(el.dataset.since);
      if (!isNaN(since)) el.textContent = elapsed(now - since);
    });
  }

  // --- finished phases fold their steps away ------------------------------------------
  // A phase that ends while the page is open gets only its head pushed (data-ended); its
  // steps are already here, so they go into the same "show its steps" fold a reload shows.
  function collapseEnded() {
    document.querySelectorAll(".phase:not(.compact)").forEach((section) => {
      const head = section.querySelector(".phase-head");
      const list = section.querySelector(":scope > ol.steps");
      if (!head || head.dataset.ended !== "true" || !list) return;
      const fold = document.createElement("details");
      fold.className = "phase-steps";
      const summary = document.createElement("summary");
      const n = list.children.length;
      summary.textContent = `Phase ended · show its ${n} step${n === 1 ? "" : "s"}`;
      list.replaceWith(fold);
      fold.append(summary, list);
      section.classList.add("compact");
    });
  }

  // --- a folded phase that starts opens its steps ------------------------------------
  // A large runbook's page folds the phases not started yet (incidents/selectors.py,
  // FULL_STEPS); when one starts while the page is open, only its head is pushed (its
  // clock gets data-started), so its fold is opened once here, which fetches its steps.
  function openStarted() {
    document.querySelectorAll(".phase.compact").forEach((section) => {
      const head = section.querySelector(".phase-head");
      const clock = section.querySelector(".phase-head [data-started]");
      const fold = section.querySelector(":scope > details.phase-steps");
      if (!head || head.dataset.ended === "true" || !clock || !clock.dataset.started) return;
      if (!fold || fold.open || fold.dataset.opened) return;
      fold.dataset.opened = "true";
      const summary = fold.querySelector("summary");
      if (summary) summary.textContent = summary.textContent.replace(/^Not started/, "In progress");
      fold.open = true; // its "toggle" event makes htmx fetch the steps
    });
  }

  function refresh() {
    settle();
    tick();
    collapseEnded();
    openStarted();
  }
  body.addEventListener("ripcord:applied", refresh);
  // A narrower window wraps the box's lines into more rows: a followed box stays at its end.
  window.addEventListener("resize", settle);
  refresh();
  setInterval(tick, 1000);
})();
