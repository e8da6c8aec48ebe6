// A running import's page: ask its status endpoint every 2 seconds and update the progress bar
// and its words; reload the page once the import has finished (it then shows the outcome).
// Without JavaScript the page reloads itself (a <noscript> refresh) instead.
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box || !box.dataset.statusUrl) { return; }
  var bar = document.getElementById("import-bar");
  function field(name) { return box.querySelector('[data-field="' + name + '"]'); }
  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) { return; }
        if (!s.running) { window.location.reload(); return; }
        field("status").textContent = s.status;
        field("words").textContent = s.words;
        if (bar && s.rows_total) { bar.max = s.rows_total; bar.value = s.progress || 0; }
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 2000);
}());
