// Loa console: confirm dialogs and live status polling. No framework, no network besides /.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);

  function poll(box) {
    var url = box.getAttribute("data-poll");
    var every = parseInt(box.getAttribute("data-every") || "2000", 10);
    var tick = function () {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html !== null) { box.innerHTML = html; }
          if (!box.querySelector("[data-final]")) { window.setTimeout(tick, every); }
        })
        .catch(function () { window.setTimeout(tick, every * 3); });
    };
    window.setTimeout(tick, every);
  }
  // A form with data-preview shows what its schedule does as it is typed (the "Xem trước"
  // button does the same without JavaScript); nothing is saved.
  var PREVIEW_FIELDS = ["when", "first_day", "until"];
  function previewer(form) {
    var box = document.getElementById(form.getAttribute("data-preview-box"));
    var url = form.getAttribute("data-preview");
    var timer = null;
    var asked = 0;
    var refresh = function () {
      var query = new URLSearchParams();
      PREVIEW_FIELDS.forEach(function (name) {
        var input = form.elements.namedItem(name);
        query.set(name, input ? input.value : "");
      });
      var mine = ++asked;
      fetch(url + "?" + query.toString(), { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null && mine === asked) { box.innerHTML = html; } })
        .catch(function () {});
    };
    form.addEventListener("input", function (event) {
      if (PREVIEW_FIELDS.indexOf(event.target.name) < 0) { return; }
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 400);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-poll]"), poll);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-preview]"), previewer);
  });
})();
