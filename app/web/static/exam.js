// Exam page enhancement: keeps the chosen answer through a dropped connection and sends it
// when the connection returns. Without this file the form posts normally.
(function () {
  "use strict";
  var PREFIX = "wmi-exam:";

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-exam-form]");
    if (!form) { return; }
    var key = PREFIX + form.getAttribute("data-exam-form");
    var status = form.querySelector("[data-exam-status]");
    var sending = false;
    cleanup(key);
    restore(form, key);
    form.addEventListener("change", function () { save(form, key); });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      save(form, key);
      send();
    });
    window.addEventListener("online", function () {
      if (load(key) && load(key).pending) { send(); }
    });

    function say(text) { if (status) { status.textContent = text; } }

    function send() {
      if (sending) { return; }
      var saved = load(key) || {};
      saved.pending = true;
      store(key, saved);
      if (!navigator.onLine) {
        say("You are offline. Your answer is kept on this device and will be sent when the connection returns.");
        return;
      }
      sending = true;
      say("Sending your answer…");
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { "Accept": "text/html" }
      }).then(function (response) {
        sending = false;
        if (response.redirected) {
          localStorage.removeItem(key);
          window.location.assign(response.url);
          return null;
        }
        if (response.status === 409) { localStorage.removeItem(key); }  // stale or ended
        return response.text().then(function (html) {
          document.open();
          document.write(html);
          document.close();
        });
      }).catch(function () {
        sending = false;
        say("The connection dropped. Your answer is kept and will be sent when the connection returns.");
        setTimeout(function () { if (navigator.onLine) { send(); } }, 5000);
      });
    }
  });

  function values(form) {
    var out = {};
    form.querySelectorAll("input[type=radio], input[type=checkbox]").forEach(function (el) {
      if (el.checked) { out[el.id] = true; }
    });
    form.querySelectorAll("select").forEach(function (el) { out[el.id] = el.value; });
    return out;
  }

  function save(form, key) {
    var prior = load(key) || {};
    store(key, { fields: values(form), pending: !!prior.pending, at: Date.now() });
  }

  function restore(form, key) {
    var saved = load(key);
    if (!saved || !saved.fields) { return; }
    Object.keys(saved.fields).forEach(function (id) {
      var el = document.getElementById(id);
      if (!el) { return; }
      if (el.tagName === "SELECT") { el.value = saved.fields[id]; } else { el.checked = true; }
    });
    if (saved.pending && navigator.onLine) { form.requestSubmit ? form.requestSubmit() : form.submit(); }
  }

  function cleanup(current) {  // answers of earlier questions are no longer needed
    for (var i = localStorage.length - 1; i >= 0; i--) {
      var k = localStorage.key(i);
      if (k && k.indexOf(PREFIX) === 0 && k !== current) { localStorage.removeItem(k); }
    }
  }

  function load(key) {
    try { return JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { return null; }
  }

  function store(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* storage full or off */ }
  }
})();
