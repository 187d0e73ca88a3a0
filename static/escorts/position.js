// The escort leader's run page: while it is open, the phone's position goes to the station
// once a minute (Geolocation API, with its accuracy), for each started run the leader leads.
// The latest fix also goes with a check-in. A position that cannot be sent is not queued: the
// next minute's is fresher.
(function () {
  "use strict";
  var targets = document.querySelectorAll("[data-position-url]");
  var EVERY_MS = 60000;
  var latest = null;
  var sentAt = 0;

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function key() {
    return window.crypto && window.crypto.randomUUID ? window.crypto.randomUUID() : String(Date.now()) + Math.random();
  }

  function send() {
    if (!latest || !window.navigator.onLine) { return; }
    sentAt = Date.now();
    Array.prototype.forEach.call(targets, function (target) {
      var body = new URLSearchParams({
        key: key(),
        latitude: latest.latitude.toFixed(6),
        longitude: latest.longitude.toFixed(6),
        accuracy_m: String(Math.round(latest.accuracy)),
        made_ms: String(latest.timestamp)
      });
      window.fetch(target.getAttribute("data-position-url"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" },
        body: body
      }).then(function (response) {
        if (response.status === 403 && window.escortPortalFreshToken) {
          // A stale form token (signed in again since the page opened): the next position
          // goes with the current one (static/field/queue.js).
          window.escortPortalFreshToken();
          return;
        }
        if (!response.ok) { return; }
        var at = new Date(latest.timestamp);
        var time = ("0" + at.getHours()).slice(-2) + ":" + ("0" + at.getMinutes()).slice(-2);
        target.setAttribute("data-position-sent", time);
        // The station writes the line: its time zone and the page's numerals, not the phone's.
        return response.json().then(function (data) {
          target.textContent = data.message || target.getAttribute("data-sent")
            .replace("%(time)s", time)
            .replace("%(metres)s", String(Math.round(latest.accuracy)));
        });
      }).catch(function () {});
    });
  }

  if (!window.navigator.geolocation) { return; }
  window.navigator.geolocation.watchPosition(
    function (fix) {
      var first = latest === null;
      latest = {
        latitude: fix.coords.latitude,
        longitude: fix.coords.longitude,
        accuracy: fix.coords.accuracy,
        timestamp: fix.timestamp
      };
      // Shared with the check-in form (static/field/queue.js).
      window.escortPortalPosition = latest;
      if (targets.length && (first || Date.now() - sentAt >= EVERY_MS)) { send(); }
    },
    function () {
      Array.prototype.forEach.call(targets, function (target) {
        target.textContent = target.getAttribute("data-denied");
      });
    },
    { enableHighAccuracy: true, maximumAge: 30000, timeout: 60000 }
  );
  if (targets.length) { window.setInterval(send, EVERY_MS); }
  window.addEventListener("online", send);
})();
