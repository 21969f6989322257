// Ripcord live updates for the incident page.
//
// The websocket only pushes HTML fragments, and small JSON frames saying whether
// pushes reach it (the heartbeat); every write is an htmx POST whose response is
// applied here too. Each fragment has a stable id and carries the incident revision
// it was rendered at (data-rev), so a fragment older than the one on screen is
// ignored, whatever order responses and pushes arrive in. Whenever the socket
// (re)opens, or the server says pushes may have been lost, the page fetches its
// panels again: events are hints, the server is the truth, and nothing sent while
// disconnected is lost.
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

  function replace(el, sender) {
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
    // Said before the swap, while the old copy still has its state (runs.js: a log box's scroll).
    current.dispatchEvent(new CustomEvent("ripcord:replace", { bubbles: true }));
    // What the person has open or typed in it stays (keep.js).
    const kept = window.ripcordKeep ? window.ripcordKeep.take(current, sender) : null;
    current.replaceWith(el);
    process(el);
    if (kept) window.ripcordKeep.give(el, kept);
  }

  // sender: the control whose own request brought this html (its typed words were sent).
  function apply(html, sender) {
    if (!html) return;
    const tpl = document.createElement("template");
    tpl.innerHTML = html;
    // An answer that says the request was refused keeps the sender's words too.
    if (sender && tpl.content.querySelector(".error[role=alert]")) sender = null;
    for (const el of Array.from(tpl.content.children)) {
      if (el.hasAttribute("data-into")) insertInto(el);
      else if (el.id) replace(el, sender);
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
  // True while pushes may have been missed and the panels not fetched since: the
  // server said its channel layer is down (incidents/consumers.py: nothing is pushed
  // to this socket, open as it is), or a fetch failed. Not live meanwhile; the next
  // {"live": true} frame fetches the panels again.
  let behind = false;
  let beatMs = 10000; // until the server says; it sends a frame at least this often
  let lastFrame = 0;

  function resync() {
    return fetch(resyncUrl, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then((r) => (r.ok ? r.text() : ""))
      .then((html) => {
        apply(html);
        if (socket && socket.readyState === WebSocket.OPEN && !behind) setState("live", "Live");
      })
      .catch(() => {
        behind = true;
        setState("reconnecting", "Reconnecting…");
      });
  }

  // {"live": false}: pushes are not reaching us. {"live": true} after that, or with
  // "resync": pushes may have been lost meanwhile, so fetch the panels again.
  function control(frame) {
    if (frame.beat) beatMs = frame.beat * 1000;
    if (frame.live === false) {
      behind = true;
      setState("reconnecting", "Reconnecting…");
    } else if (behind || frame.resync) {
      behind = false;
      setState("syncing", "Syncing…");
      resync();
    }
  }

  function retry() {
    setState("reconnecting", "Reconnecting…");
    const delay = Math.min(5000, 250 * 2 ** attempt++) * (0.75 + Math.random() / 2);
    setTimeout(connect, delay);
  }

  function connect() {
    if (held || socket) return; // held closed, or a retry already made one
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + location.host + wsPath);
    socket = ws;
    ws.onopen = () => {
      attempt = 0;
      behind = false;
      lastFrame = Date.now();
      setState("syncing", "Syncing…");
      resync();
    };
    ws.onmessage = (event) => {
      lastFrame = Date.now();
      if (event.data.charAt(0) === "{") control(JSON.parse(event.data));
      else apply(event.data);
    };
    ws.onclose = (event) => {
      if (socket !== ws) return; // given up on already (silent too long)
      socket = null;
      if (event.code === 4403) {
        setState("denied", "Access refused");
        return;
      }
      if (!held) retry();
    };
  }

  // A socket that hears nothing for two beats is dead, whatever TCP says (a server
  // that hangs, a network that drops packets): give it up and connect again.
  setInterval(() => {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    if (Date.now() - lastFrame < 2 * beatMs + 2000) return;
    const dead = socket;
    socket = null;
    dead.close();
    retry();
  }, 1000);

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
    if (xhr.status >= 400) return; // refused: static/js/controls.js says why, beside the control
    if ((xhr.getResponseHeader("Content-Type") || "").startsWith("text/html")) apply(xhr.responseText, detail.elt);
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
    apply: (html) => apply(html),
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
