// Exam page enhancement: checks an answer before it is sent, keeps the chosen answer through a
// dropped connection and sends it when the connection returns. Without this file the form posts
// normally and the server says what is missing.
//
// Rules that keep it from looping: only an answer that can be submitted is ever marked pending;
// a pending answer is forgotten as soon as the server has judged it (any response other than a
// 5xx); a kept answer is re-sent at most once per page load unless the network or server failed.
(function () {
  "use strict";
  var PREFIX = "wmi-exam:";
  var RETRY_SECONDS = [5, 10, 20, 40, 60];

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-exam-form]");
    if (!form) { return; }
    var key = PREFIX + form.getAttribute("data-exam-form");
    var next = form.getAttribute("data-next") || window.location.pathname;
    var status = form.querySelector("[data-exam-status]");
    var error = form.querySelector("[data-exam-error]");
    var sending = false;
    var failures = 0;
    var timer = null;

    cleanup(key);
    // Leaving an open exam (another address, closing the tab, Back) asks first: the clock keeps
    // running. Moving on to the next question, or the page reloading at the deadline, does not.
    window.addEventListener("beforeunload", function (event) {
      if (document.documentElement.hasAttribute("data-leaving")) { return; }
      event.preventDefault();
      event.returnValue = "";
    });
    form.addEventListener("change", function () { keep(false); });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var problem = invalid(form);
      if (problem) { showError(problem); keep(false); return; }
      showError("");
      keep(true);
      send();
    });
    window.addEventListener("online", function () { if (isPending()) { send(); } });
    restore();

    function say(text) { if (status) { status.textContent = text; } }

    function showError(text) {
      if (!error) { return; }
      error.textContent = text;
      error.hidden = !text;
      if (text) { error.focus(); }
    }

    function keep(pending) {
      store(key, { fields: values(form), pending: pending, at: Date.now() });
    }

    function isPending() { var saved = load(key); return !!(saved && saved.pending); }

    function restore() {
      var saved = load(key);
      if (!saved || !saved.fields) { return; }
      fill(form, saved.fields);
      if (!saved.pending) { return; }
      if (invalid(form)) { keep(false); return; }  // kept by an older page: never sent
      if (navigator.onLine) { send(); }
    }

    function retryLater(text) {
      var wait = RETRY_SECONDS[Math.min(failures, RETRY_SECONDS.length - 1)];
      failures += 1;
      say(text + " Your answer is kept and will be sent again in " + wait + " seconds.");
      clearTimeout(timer);
      timer = setTimeout(function () { if (navigator.onLine && isPending()) { send(); } }, wait * 1000);
    }

    function send() {
      if (sending) { return; }
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
        redirect: "manual",  // the 303 means "recorded": load the next question once
        headers: { "Accept": "text/html" }
      }).then(function (response) {
        sending = false;
        if (response.type === "opaqueredirect") {
          localStorage.removeItem(key);
          document.documentElement.setAttribute("data-leaving", "");
          window.location.assign(next);
          return null;
        }
        if (response.status >= 500) { retryLater("The server could not take the answer just now."); return null; }
        // Judged by the server (stale, ended, invalid, expired form): show its page, keep nothing pending.
        if (response.status === 409) { localStorage.removeItem(key); } else { keep(false); }
        return response.text().then(function (html) {
          document.open();
          document.write(html);
          document.close();
        });
      }).catch(function () {
        sending = false;
        retryLater("The connection dropped.");
      });
    }
  });

  function invalid(form) {  // the same rules the server applies, in the same words
    var selects = form.querySelectorAll("fieldset.question select");
    if (selects.length) {
      var seen = {};
      for (var i = 0; i < selects.length; i++) {
        var v = selects[i].value;
        if (!v) { return "Give every element a position (1 = first)."; }
        if (seen[v]) { return "Give every element a different position (1 = first)."; }
        seen[v] = true;
      }
      return "";
    }
    var boxes = form.querySelectorAll("fieldset.question input[name=answer]");
    if (boxes.length && !form.querySelector("fieldset.question input[name=answer]:checked")) {
      return "Choose an answer before you continue.";
    }
    return "";
  }

  function values(form) {
    var out = {};
    form.querySelectorAll("input[type=radio], input[type=checkbox]").forEach(function (el) {
      if (el.checked) { out[el.id] = true; }
    });
    form.querySelectorAll("select").forEach(function (el) { out[el.id] = el.value; });
    return out;
  }

  function fill(form, fields) {
    Object.keys(fields).forEach(function (id) {
      var el = document.getElementById(id);
      if (!el || !form.contains(el)) { return; }
      if (el.tagName === "SELECT") { el.value = fields[id]; } else { el.checked = true; }
    });
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
