// Live completion of a screening campaign: poll the progress endpoint while the session is open.
(function () {
  "use strict";
  var table = document.getElementById("progress");
  if (!table || table.dataset.live !== "1") return;
  // The results below were rendered with the page: when more students have submitted, say so (issue 17).
  var initialSubmitted = Array.prototype.reduce.call(table.querySelectorAll(".submitted"),
    function (n, cell) { return n + (parseInt(cell.textContent, 10) || 0); }, 0);
  function staleResults() {
    var note = document.getElementById("results-stale");
    if (note) note.hidden = false;
  }
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
        var submitted = data.classes.reduce(function (n, row) { return n + row.submitted; }, 0);
        if (submitted > initialSubmitted) staleResults();
      })
      .catch(function () { /* the next poll tries again */ });
  }
  setInterval(function () { if (table.dataset.live === "1") refresh(); }, 4000);
})();
