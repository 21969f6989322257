// Controls that tell the truth (issue 12, item 1), on the incident page.
//
// * A refused action says why, beside the control that was refused: a 403 (the
//   rule's own words, common.views.permission_denied), another error status, or a
//   fragment that came back with an error in it (a conflict, bad input). The page
//   then fetches its panels again (live.js), so the controls match what the server
//   allows now; the refusal is put back beside the control if that fetch replaced it.
// * The page's notion of who is the incident commander follows the per-user style
//   block (#me-style, fetched again whenever the roles change): body[data-is-ic].
(function () {
  "use strict";
  const body = document.body;
  if (!body.dataset.resync) return;

  const shown = new Map(); // anchor id -> {key, node}

  function messageOf(xhr) {
    const type = xhr.getResponseHeader("Content-Type") || "";
    if (xhr.status === 0) return "Could not reach the server; nothing was changed. Try again.";
    if (xhr.status >= 400) {
      if (type.startsWith("text/plain") && xhr.responseText) return xhr.responseText.slice(0, 500);
      if (xhr.status === 403) return "Refused: you may not do this now.";
      if (xhr.status === 409) return "Refused: this changed meanwhile.";
      return "Refused by the server (" + xhr.status + ").";
    }
    if (!type.startsWith("text/html")) return "";
    const tpl = document.createElement("template");
    tpl.innerHTML = xhr.responseText;
    const error = tpl.content.querySelector(".error[role=alert]");
    return error ? error.textContent.trim() : "";
  }

  function place(anchorId, entry) {
    const anchor = document.getElementById(anchorId);
    if (!anchor) return;
    let spot = null;
    if (entry.key) {
      for (const el of anchor.querySelectorAll("[hx-post]")) {
        if (el.getAttribute("hx-post") === entry.key) spot = el;
      }
    }
    if (spot) spot = spot.closest(".step-controls") || spot.closest("li") || spot.closest("form") || spot;
    for (const stale of anchor.querySelectorAll(".error[role=alert]")) stale.remove();
    if (spot && spot !== anchor && anchor.contains(spot)) spot.after(entry.node);
    else anchor.appendChild(entry.node);
  }

  function refuse(elt, message) {
    const anchor = elt.closest("[id]");
    if (!anchor) return;
    const old = shown.get(anchor.id);
    if (old) old.node.remove();
    const node = document.createElement("p");
    node.className = "refusal";
    node.setAttribute("role", "alert");
    node.dataset.testid = "refusal";
    const text = document.createElement("span");
    text.textContent = message;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "refusal-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    node.append(text, close);
    const entry = { key: elt.getAttribute("hx-post") || "", node };
    close.addEventListener("click", () => {
      node.remove();
      shown.delete(anchor.id);
    });
    shown.set(anchor.id, entry);
    place(anchor.id, entry);
  }

  document.addEventListener("htmx:beforeRequest", (event) => {
    const cfg = event.detail.requestConfig;
    if (!cfg || cfg.verb === "get") return;
    const anchor = event.detail.elt.closest("[id]");
    const old = anchor && shown.get(anchor.id);
    if (old) {
      old.node.remove();
      shown.delete(anchor.id);
    }
  });

  document.addEventListener("htmx:afterRequest", (event) => {
    const detail = event.detail;
    const cfg = detail.requestConfig;
    if (!cfg || cfg.verb === "get" || !detail.xhr) return;
    const message = messageOf(detail.xhr);
    if (!message) return;
    refuse(detail.elt, message);
    if (window.ripcord) window.ripcord.resync();
  });

  // A fetch or a push replaced the fragment a refusal sat in: put it back.
  body.addEventListener("ripcord:applied", () => {
    for (const [anchorId, entry] of shown) {
      if (!entry.node.isConnected) place(anchorId, entry);
    }
  });

  // Who is IC: from the per-user style block, whenever it is fetched again.
  function readIc() {
    const me = document.getElementById("me-style");
    if (me && me.dataset.isIc) body.dataset.isIc = me.dataset.isIc;
  }
  document.addEventListener("htmx:afterSettle", readIc);
  readIc();
})();
