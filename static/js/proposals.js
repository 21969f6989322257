// Proposed rollbacks, live: when a "proposal" notice arrives (static/js/notify.js, from
// triggers/live.py), fetch the banner again and put it in place, buttons and all.
(function () {
  "use strict";
  const url = document.body.dataset.proposalsBanner;
  if (!url) return;
  let pending = null;
  function refresh() {
    if (pending) return;
    pending = fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then((response) => (response.ok ? response.text() : null))
      .then((html) => {
        const current = document.getElementById("proposals-banner");
        if (html === null || !current) return;
        const holder = document.createElement("div");
        holder.innerHTML = html;
        const fresh = holder.querySelector("#proposals-banner");
        if (fresh) current.replaceWith(fresh);
      })
      .catch(() => {})
      .finally(() => {
        pending = null;
      });
  }
  document.body.addEventListener("ripcord:notice", (event) => {
    if (event.detail && event.detail.kind === "proposal") refresh();
  });
  // A socket that (re)connects may have missed a notice: catch up then too.
  new MutationObserver(() => {
    if (document.body.dataset.notify === "open") refresh();
  }).observe(document.body, { attributes: true, attributeFilter: ["data-notify"] });
})();
