// Filters the ICD-10 <select> by what is typed in the search box above it (code or words).
(function () {
  "use strict";
  var input = document.getElementById("icd-filter");
  if (!input) { return; }
  var select = document.getElementById(input.getAttribute("data-target"));
  if (!select) { return; }
  var all = Array.prototype.map.call(select.options, function (o) {
    return { value: o.value, text: o.text };
  });
  input.addEventListener("input", function () {
    var q = input.value.trim().toLowerCase();
    var keep = select.value;
    select.innerHTML = "";
    all.forEach(function (o) {
      if (!q || o.value === "" || o.text.toLowerCase().indexOf(q) !== -1) {
        select.add(new Option(o.text, o.value, false, o.value === keep));
      }
    });
    // Choose the first match so that typing a code and moving on selects it.
    if (q && select.options.length > 1 && select.value === "") { select.selectedIndex = 1; }
  });
})();
