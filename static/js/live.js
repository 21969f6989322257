// Ripcord live updates for the incident page.
//
// The websocket only pushes HTML fragments; every write is an htmx POST whose
// response is applied here too. Each fragment has a stable id and carries the
// incident revision it was rendered at (data-rev), so a fragment older than the
// one on screen is ignored, whatever order responses and pushes arrive in.
// Whenever the socket (re)opens, the page fetches its panels again: events are
// hints, the server is the truth, and nothing sent while disconnected is lost.
(function () {
  "use strict";
  const body = document.body;
  const wsPath = body.dataset.ws;
  const resyncUrl = body.dataset.resync;
  if (!wsPath || !resyncUrl) return;

  const rev = (el) => Number(el.getAttribute("data-rev") || -1);
  const seq = (el) => Number(el.getAttribute("data-seq") || 0);

  function process(el) {
    if (window.htmx) window.htmx.process(el);
  }

  // Newest first, by entry id.
  function insertSorted(list, item) {
    const s = seq(item);
    for (const child of list.children) {
      if (seq(child) < s) {
        list.insertBefore(item, child);
        return;
      }
    }
    list.appendChild(item);
  }

  function insertInto(el) {
    if (document.getElementById(el.id)) return; // already shown (push and response overlap)
    const list = document.getElementById(el.getAttribute("data-into"));
    if (!list) return;
    el.removeAttribute("data-into");
    insertSorted(list, el);
    process(el);
  }

  function replace(el) {
    const current = document.getElementById(el.id);
    if (!current) return; // not part of this page
    if (el.hasAttribute("data-rev") && current.hasAttribute("data-rev") && rev(current) > rev(el)) return;
    // Keep nested fragments that are newer than the snapshot that contains them.
    for (const inner of el.querySelectorAll("[id][data-rev]")) {
      const live = document.getElementById(inner.id);
      if (live && rev(live) > rev(inner)) inner.replaceWith(live.cloneNode(true));
    }
    // Append-only lists (the timeline) merge: keep entries the snapshot lacks.
    if (el.hasAttribute("data-merge")) {
      const ids = new Set(Array.from(el.children, (c) => c.id));
      for (const child of Array.from(current.children)) {
        if (child.id && !ids.has(child.id)) insertSorted(el, child.cloneNode(true));
      }
    }
    current.replaceWith(el);
    process(el);
  }

  function apply(html) {
    if (!html) return;
    const tpl = document.createElement("template");
    tpl.innerHTML = html;
    for (const el of Array.from(tpl.content.children)) {
      if (el.hasAttribute("data-into")) insertInto(el);
      else if (el.id) replace(el);
    }
    body.dispatchEvent(new CustomEvent("ripcord:applied"));
  }

  // --- connection -----------------------------------------------------------
  const status = document.getElementById("conn-status");
  function setState(state, label) {
    body.dataset.live = state;
    if (status) {
      status.textContent = label;
      status.className = "conn conn-" + state;
    }
  }

  let socket = null;
  let attempt = 0;
  let held = false; // tests and users may hold the connection closed

  function resync() {
    return fetch(resyncUrl, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then((r) => (r.ok ? r.text() : ""))
      .then((html) => {
        apply(html);
        if (socket && socket.readyState === WebSocket.OPEN) setState("live", "Live");
      })
      .catch(() => setState("reconnecting", "Reconnecting…"));
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + wsPath);
    socket.onopen = () => {
      attempt = 0;
      setState("syncing", "Syncing…");
      resync();
    };
    socket.onmessage = (event) => apply(event.data);
    socket.onclose = (event) => {
      socket = null;
      if (event.code === 4403) {
        setState("denied", "Access refused");
        return;
      }
      if (held) return;
      setState("reconnecting", "Reconnecting…");
      const delay = Math.min(5000, 250 * 2 ** attempt++) * (0.75 + Math.random() / 2);
      setTimeout(connect, delay);
    };
  }

  // --- htmx responses go through the same revision-aware apply ----------------
  document.addEventListener("htmx:beforeSwap", (event) => {
    const cfg = event.detail.requestConfig;
    if (cfg && cfg.verb !== "get") event.detail.shouldSwap = false;
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    const detail = event.detail;
    const cfg = detail.requestConfig;
    if (!cfg || cfg.verb === "get" || !detail.xhr) return;
    const xhr = detail.xhr;
    if (xhr.status === 403) {
      window.alert("Refused: " + (xhr.responseText || "you may not do this").slice(0, 200));
      return;
    }
    if ((xhr.getResponseHeader("Content-Type") || "").startsWith("text/html")) apply(xhr.responseText);
  });

  // --- "My steps" filter -----------------------------------------------------
  const toggle = document.getElementById("mine-toggle");
  if (toggle) {
    const key = "ripcord.mine-only";
    const set = (on) => {
      body.classList.toggle("mine-only", on);
      toggle.setAttribute("aria-pressed", String(on));
      localStorage.setItem(key, on ? "1" : "0");
    };
    set(localStorage.getItem(key) === "1");
    toggle.addEventListener("click", () => set(!body.classList.contains("mine-only")));
  }

  window.ripcord = {
    apply,
    resync,
    hold() {
      held = true;
      if (socket) socket.close();
      setState("offline", "Offline");
    },
    release() {
      held = false;
      if (!socket) connect();
    },
  };
  setState("connecting", "Connecting…");
  connect();
})();
