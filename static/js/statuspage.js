// The public status page keeps itself current: it asks summary.json whether the page's
// version (its ETag) changed, a 304 when not, and when it did, fetches the page once and
// swaps the main section in place. Without JavaScript, a meta refresh does the same, slower.
(function () {
  "use strict";
  var main = document.getElementById("status");
  if (!main || !window.fetch) return;
  var every = parseInt(main.dataset.pollMs, 10) || 1000;
  var summaryUrl = main.dataset.summary;
  var failures = 0;

  function bare(etag) {
    return (etag || "").replace(/^W\//, "").replace(/"/g, "");
  }

  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("status");
    if (!fresh) return;
    main.innerHTML = fresh.innerHTML;
    main.dataset.version = fresh.dataset.version;
  }

  function check() {
    if (document.hidden) return schedule();
    // "no-cache": the browser revalidates with If-None-Match, and a 304 costs next to nothing.
    fetch(summaryUrl, { cache: "no-cache" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        var version = bare(response.headers.get("ETag"));
        if (!version || version === main.dataset.version) return null;
        return fetch(window.location.pathname, { cache: "no-cache" }).then(function (page) {
          return page.ok ? page.text().then(swap) : null;
        });
      })
      .then(function () { failures = 0; }, function () { failures += 1; })
      .then(schedule);
  }

  function schedule() {
    // Backs off while the server does not answer, up to a minute.
    window.setTimeout(check, Math.min(every * Math.pow(2, failures), 60000));
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { failures = 0; }
  });
  schedule();
})();
