// The projector view: poll the class-wide counts (no student, no alert) while the session is open.
(function () {
  "use strict";
  var box = document.getElementById("projector-counts");
  if (!box || box.dataset.live !== "1") return;
  function refresh() {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        box.querySelectorAll("[data-count]").forEach(function (el) {
          var value = data[el.dataset.count];
          if (typeof value === "number") el.textContent = String(value);
        });
        if (!data.open) { box.dataset.live = "0"; window.location.reload(); }
      })
      .catch(function () { /* the next poll tries again */ });
  }
  setInterval(function () { if (box.dataset.live === "1") refresh(); }, 3000);
})();
