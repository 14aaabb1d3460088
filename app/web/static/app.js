// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-countdown]").forEach(startCountdown);
  });

  function startCountdown(el) {
    var deadline = Date.now() + Number(el.getAttribute("data-countdown")) * 1000;
    var live = document.getElementById(el.getAttribute("data-live") || "");
    var warned = {};
    function tick() {
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      el.textContent = m + ":" + (s < 10 ? "0" : "") + s;
      [600, 300, 60].forEach(function (mark) {
        if (left <= mark && !warned[mark] && live) {
          warned[mark] = true;
          live.textContent = (mark / 60) + " minute" + (mark > 60 ? "s" : "") + " left.";
        }
      });
      if (left > 0) { setTimeout(tick, 1000); } else if (el.hasAttribute("data-reload")) {
        document.documentElement.setAttribute("data-leaving", "");  // no leave warning: time is up
        window.location.reload();
      }
    }
    tick();
  }
})();
