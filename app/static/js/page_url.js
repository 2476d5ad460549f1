// A form that failed comes back from its POST address (/referrals/1/decision): put the page's own address back in the
// location bar, so that a reload or a shared link opens the page instead of "method not allowed".
(function () {
  var script = document.currentScript;
  var url = script && script.getAttribute("data-page-url");
  if (url && window.history && window.history.replaceState && window.location.pathname !== url) {
    window.history.replaceState(null, "", url + window.location.hash);
  }
})();
// And bring the first field with an error into view, its input focused: the error is where the eye lands.
(function () {
  var field = document.querySelector(".field.has-error");
  if (!field) return;
  var input = field.querySelector("input, select, textarea");
  field.scrollIntoView({block: "center"});
  if (input) input.focus({preventScroll: true});
})();
