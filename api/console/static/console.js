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

  // The week's bars (station_week.html): each band, airing and hour mark says where it
  // sits in percent of the day; the page's policy allows no inline style attribute.
  function place(root) {
    var items = root.querySelectorAll("[data-left]");
    for (var i = 0; i < items.length; i++) {
      items[i].style.left = items[i].getAttribute("data-left") + "%";
      var width = items[i].getAttribute("data-width");
      if (width !== null) { items[i].style.width = width + "%"; }
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var timeline = document.getElementById("timeline");
    if (timeline) { place(timeline); }
  });

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
  var PREVIEW_FIELDS = ["when", "first_day", "until", "what", "relay_source_id", "relay_minutes"];
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
  // An announcement sent as an emergency airs at once: ask first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm-emergency");
    var priority = form.elements.namedItem("priority");
    if (question && priority && priority.value === "emergency" && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);

  // The microphone recorder (data-recorder): MediaRecorder records, the <audio> plays it
  // back, and the recording becomes the form's file input, sent like a chosen file.
  function clock(seconds) {
    var s = Math.floor(seconds);
    return Math.floor(s / 60) + ":" + (s % 60 < 10 ? "0" : "") + (s % 60);
  }
  function recorder(box) {
    var controls = box.querySelector("[data-recorder-controls]");
    var note = box.querySelector("[data-recorder-note]");
    var start = box.querySelector("[data-record]");
    var stop = box.querySelector("[data-stop]");
    var elapsed = box.querySelector("[data-elapsed]");
    var playback = box.querySelector("[data-playback]");
    var input = box.querySelector("input[type=file]");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia ||
        !window.MediaRecorder || !window.DataTransfer) {
      return;  // no microphone in this browser: the file input stays
    }
    controls.hidden = false;
    var media = null, chunks = [], began = 0, timer = null;
    function say(text) { note.textContent = text; note.hidden = !text; }
    start.addEventListener("click", function () {
      say("");
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
        var type = MediaRecorder.isTypeSupported("audio/webm;codecs=opus") ? "audio/webm;codecs=opus" : "";
        media = type ? new MediaRecorder(stream, { mimeType: type }) : new MediaRecorder(stream);
        chunks = [];
        media.addEventListener("dataavailable", function (e) { if (e.data.size) { chunks.push(e.data); } });
        media.addEventListener("stop", function () {
          stream.getTracks().forEach(function (t) { t.stop(); });
          window.clearInterval(timer);
          var blob = new Blob(chunks, { type: media.mimeType || "audio/webm" });
          var file = new File([blob], "ghi-am.webm", { type: blob.type });
          var chosen = new DataTransfer();
          chosen.items.add(file);
          input.files = chosen.files;
          playback.src = URL.createObjectURL(blob);
          playback.hidden = false;
          box.setAttribute("data-recorded", String(blob.size));
          say("Đã ghi " + clock((Date.now() - began) / 1000) + ". Hãy nghe lại trước khi gửi.");
          start.disabled = false;
          stop.disabled = true;
        });
        media.start(250);
        began = Date.now();
        elapsed.textContent = "0:00";
        timer = window.setInterval(function () { elapsed.textContent = clock((Date.now() - began) / 1000); }, 250);
        start.disabled = true;
        stop.disabled = false;
        box.setAttribute("data-recording", "");
      }).catch(function () {
        say("Không dùng được micrô: hãy cho phép trình duyệt dùng micrô, hoặc chọn tệp ghi âm.");
      });
    });
    stop.addEventListener("click", function () {
      if (media && media.state !== "inactive") { media.stop(); }
      box.removeAttribute("data-recording");
    });
  }

  // The new broadcast form shows the bulletin pickers or the relay's inputs, as chosen
  // (without JavaScript both show and the server reads the choice).
  function whatChooser(group) {
    var form = group.form || group.closest("form");
    var show = function () {
      var chosen = form.elements.namedItem("what").value;
      Array.prototype.forEach.call(form.querySelectorAll("[data-what-part]"), function (part) {
        part.hidden = part.getAttribute("data-what-part") !== chosen;
      });
    };
    group.addEventListener("change", show);
    show();
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-what]"), whatChooser);
    Array.prototype.forEach.call(document.querySelectorAll("[data-poll]"), poll);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-preview]"), previewer);
    Array.prototype.forEach.call(document.querySelectorAll("[data-recorder]"), recorder);
  });
})();
