// Ripcord notices: "you are needed" (common/notify.py), on every signed-in page.
//
// One socket per page, /ws/notify/, push-only: each frame is {"kind", "payload"}
// with payload.title, .body, .url and .tag. A notice shows as a toast in the page
// (announced to screen readers) and, where the person allowed it and is not
// looking at this page, as a browser notification. The "Allow notifications"
// button sits in the top bar, in the flow of its items, and goes once answered.
(function () {
  "use strict";
  const body = document.body;
  if (!("WebSocket" in window) || !document.querySelector(".topbar .whoami")) return;

  const region = document.createElement("div");
  region.id = "notices";
  region.className = "notices";
  region.setAttribute("role", "log");
  region.setAttribute("aria-live", "polite");
  region.setAttribute("aria-label", "Notices");
  body.appendChild(region);

  const MAX_SHOWN = 4;
  const SHOWN_MS = 30000;
  function toast(kind, p) {
    const item = document.createElement("div");
    item.className = "notice notice-" + String(kind).replace(/[^a-z_-]/gi, "");
    item.dataset.kind = kind;
    const title = document.createElement("strong");
    title.textContent = p.title || "Ripcord";
    item.appendChild(title);
    if (p.body) {
      const text = document.createElement("p");
      text.textContent = p.body;
      item.appendChild(text);
    }
    if (p.url && p.url.charAt(0) === "/" && p.url.charAt(1) !== "/" && p.url !== location.pathname) {
      const link = document.createElement("a");
      link.href = p.url;
      link.textContent = "Open";
      item.appendChild(link);
    }
    const close = document.createElement("button");
    close.type = "button";
    close.className = "notice-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", () => item.remove());
    item.appendChild(close);
    region.appendChild(item);
    while (region.children.length > MAX_SHOWN) region.firstElementChild.remove();
    // Gone after a while unless pointed at: the page itself keeps the state.
    const expire = () => {
      if (item.matches(":hover, :focus-within")) setTimeout(expire, 5000);
      else item.remove();
    };
    setTimeout(expire, SHOWN_MS);
  }

  function systemNotice(kind, p) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    // The IC's own incident page notifies its overruns itself (static/js/clocks.js).
    if (kind === "phase_clock" && body.dataset.isIc === "true" && p.url === location.pathname) return;
    if (document.visibilityState === "visible" && document.hasFocus()) return; // the toast is enough
    try {
      const n = new Notification(p.title || "Ripcord", { body: p.body || "", tag: p.tag || undefined });
      n.onclick = () => {
        window.focus();
        if (p.url) location.href = p.url;
      };
    } catch (e) {
      // Some browsers allow notifications from service workers only: the toast stays.
    }
  }

  // --- the "Allow notifications" control ----------------------------------------
  if ("Notification" in window && Notification.permission === "default") {
    const allow = document.createElement("button");
    allow.type = "button";
    allow.id = "notify-allow";
    allow.className = "notify-allow";
    allow.textContent = "Allow notifications";
    allow.title = "Be told in your browser when an approval waits for you, your step can start, a phase runs late or an incident is resolved";
    allow.addEventListener("click", () => {
      Notification.requestPermission().then(() => {
        if (Notification.permission !== "default") allow.remove();
      });
    });
    const whoami = document.querySelector(".topbar .whoami");
    whoami.parentNode.insertBefore(allow, whoami);
  }

  // --- the socket --------------------------------------------------------------
  let attempt = 0;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + location.host + "/ws/notify/");
    ws.onopen = () => {
      attempt = 0;
      body.dataset.notify = "open";
    };
    ws.onmessage = (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      const p = frame.payload || {};
      toast(frame.kind, p);
      systemNotice(frame.kind, p);
      body.dispatchEvent(new CustomEvent("ripcord:notice", { detail: frame }));
    };
    ws.onclose = (event) => {
      body.dataset.notify = "closed";
      if (event.code === 4403) return; // not for this user
      const delay = Math.min(10000, 500 * 2 ** attempt++) * (0.75 + Math.random() / 2);
      setTimeout(connect, delay);
    };
  }
  connect();
})();
