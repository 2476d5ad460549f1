// Live completion of a screening campaign: poll the progress endpoint while the session is open.
(function () {
  "use strict";
  var table = document.getElementById("progress");
  if (!table || table.dataset.live !== "1") return;
  function refresh() {
    fetch(table.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        data.classes.forEach(function (row) {
          var tr = table.querySelector('tr[data-class="' + row.class_id + '"]');
          if (!tr) return;
          tr.querySelector(".invited").textContent = row.invited;
          tr.querySelector(".started").textContent = row.started;
          tr.querySelector(".submitted").textContent = row.submitted;
        });
        if (!data.open) table.dataset.live = "0";
      })
      .catch(function () { /* the next poll tries again */ });
  }
  setInterval(function () { if (table.dataset.live === "1") refresh(); }, 4000);
})();
