// berth portal: progressive enhancement only. Every page works without
// this script; it adds copy buttons, confirmations, select-all and
// auto-submitting selects.
(function () {
  "use strict";
  function toast(text) {
    var t = document.getElementById("toast");
    if (!t) return;
    t.textContent = text;
    t.classList.add("show");
    setTimeout(function () { t.classList.remove("show"); }, 2500);
  }
  function copy(text, done) {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { legacyCopy(text); done(); });
    } else {
      legacyCopy(text);
      done();
    }
  }
  function legacyCopy(text) {
    var ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.style.position = "absolute";
    ta.style.left = "-9999px";
    document.body.appendChild(ta);
    ta.select();
    try { document.execCommand("copy"); } catch (e) { /* the text stays selectable */ }
    document.body.removeChild(ta);
  }
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-copy]");
    if (!b) return;
    e.preventDefault();
    var src = document.getElementById(b.getAttribute("data-copy"));
    var text = src ? (src.value !== undefined ? src.value : src.textContent) : "";
    copy(text, function () {
      b.setAttribute("data-copied", "true");
      toast(b.getAttribute("data-copied-text") || "Copied");
    });
  });
  document.addEventListener("submit", function (e) {
    var f = e.target;
    var msg = f.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) e.preventDefault();
  });
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches("select[data-autosubmit]")) t.form.submit();
    if (t.matches("input[data-select-all]")) {
      var name = t.getAttribute("data-select-all");
      document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (c) { c.checked = t.checked; });
    }
  });
  // A page showing a running job reloads itself until the job ends.
  var r = document.querySelector("[data-refresh]");
  if (r) setTimeout(function () { location.reload(); }, 1000 * (parseInt(r.getAttribute("data-refresh"), 10) || 5));
})();
