// The duty sheet page: follows a running build, and reloads the live run board now and then.
(function () {
  "use strict";
  var progress = document.querySelector("[data-progress-url]");
  if (progress) {
    var bar = progress.querySelector(".progress-bar");
    var poll = function () {
      fetch(progress.getAttribute("data-progress-url"), { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          bar.style.width = data.percent + "%";
          bar.setAttribute("aria-valuenow", data.percent);
          bar.textContent = data.percent + "%";
          if (data.status !== "running") {
            window.location.reload();
          } else {
            window.setTimeout(poll, 1000);
          }
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    };
    window.setTimeout(poll, 500);
  }
  var live = document.querySelector("[data-refresh-seconds]");
  if (live) {
    var seconds = parseInt(live.getAttribute("data-refresh-seconds"), 10) || 60;
    window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
  }
})();
