// The phone pages of field agents and escorts: actions that survive a dropped connection.
//
// A form marked data-queue (acknowledge, start, check in, complete, SOS) is not sent by the
// browser: its action goes into a queue kept on the phone (localStorage), with an idempotency
// key of its own, and the queue is sent in order at once, again whenever the phone comes back
// online, and on the next page load (background sync is unreliable on Android). Each action
// is sent with its key in the Idempotency-Key header, so however often it is sent, the server
// does it once and answers the first answer again (stations/replay.py). While anything waits,
// the page says "waiting to send". The page is also an installable web app: this file
// registers the service worker (/sw.js) that keeps the day's pages for when there is no
// connection, and asks for persistent storage so the phone does not clear the queue.
(function () {
  "use strict";
  var box = document.getElementById("outbox");
  var owner = box ? box.getAttribute("data-outbox-user") || "" : "";
  var STORE = "escort-portal.outbox." + owner;
  var SENT = "escort-portal.sent." + owner;
  var flushing = false;
  // What this page showed of the last sends: kept across a reload the next send asks for.
  var shown = [];

  function uuid() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function load() {
    try { return JSON.parse(window.localStorage.getItem(STORE) || "[]"); } catch (e) { return []; }
  }

  function save(items) { window.localStorage.setItem(STORE, JSON.stringify(items)); }

  function drop(key) { save(load().filter(function (item) { return item.key !== key; })); }

  function fill(template, values) {
    return (template || "").replace(/%\((\w+)\)s/g, function (match, name) {
      return values[name] === undefined || values[name] === null ? "" : String(values[name]);
    });
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // The form token of a page opened before its person signed in again (after their session
  // ended) is stale, though they are signed in: a fresh copy of the page carries the current
  // one. "" when the page cannot be had (no connection, or no sign-in: a redirect).
  function freshToken() {
    return window.fetch(window.location.href, {
      credentials: "same-origin",
      redirect: "manual",
      headers: { "Accept": "text/html" }
    }).then(function (response) {
      if (!response.ok) { return ""; }
      return response.text().then(function (html) {
        var found = /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(html);
        if (!found) { return ""; }
        document.querySelectorAll("input[name=csrfmiddlewaretoken]").forEach(function (input) {
          input.value = found[1];
        });
        return found[1];
      });
    }).catch(function () { return ""; });
  }

  // The leader's page sends the phone's position with the same token (escorts/position.js).
  window.escortPortalFreshToken = freshToken;

  function render(problem) {
    if (!box) { return; }
    var items = load();
    var text = box.querySelector("[data-text]");
    if (!items.length) {
      box.classList.add("d-none");
      document.documentElement.removeAttribute("data-outbox-waiting");
      return;
    }
    var labels = items.map(function (item) { return item.label; }).join(", ");
    var template = problem === "signin" ? box.getAttribute("data-signin") : box.getAttribute("data-waiting");
    text.textContent = fill(template, { actions: labels });
    box.classList.remove("d-none");
    document.documentElement.setAttribute("data-outbox-waiting", String(items.length));
  }

  function showSent() {
    var sent;
    try { sent = JSON.parse(window.sessionStorage.getItem(SENT) || "[]"); } catch (e) { sent = []; }
    window.sessionStorage.removeItem(SENT);
    var area = document.getElementById("outbox-sent");
    if (!area || !sent.length) { return; }
    shown = shown.concat(sent);
    sent.forEach(function (note) {
      var line = document.createElement("div");
      line.className = "alert alert-" + (note.ok ? "success" : "danger");
      line.setAttribute("role", "alert");
      line.textContent = note.ok ? note.message : fill(box.getAttribute("data-not-sent"), { action: note.label, reason: note.message });
      area.appendChild(line);
    });
    area.classList.remove("d-none");
  }

  function sosOffline(show) {
    var panel = document.getElementById("sos-offline");
    if (panel && show && load().some(function (item) { return item.sos; })) {
      panel.classList.remove("d-none");
    }
  }

  // An SOS the server answered but did not take (the trip is no longer the agent's, or a
  // rule said no): the station has not heard, so the SMS and the call are offered at once.
  function sosRefused() {
    var panel = document.getElementById("sos-offline");
    if (!panel) { return; }
    var why = panel.querySelector("[data-sos-why]");
    if (why) { why.textContent = panel.getAttribute("data-refused"); }
    panel.classList.remove("d-none");
  }

  // On the SOS page itself the answer replaces the question: no "Send SOS?" and no "Cancel"
  // once it is sent, and the answer shown once. False elsewhere, where the note shows it.
  function sosSent(data) {
    var form = document.getElementById("sos-form");
    var done = document.getElementById("sos-done");
    if (!form || !done) { return false; }
    form.classList.add("d-none");
    done.textContent = data.message || "";
    done.classList.remove("d-none");
    document.querySelectorAll("[data-sos-ask]").forEach(function (ask) { ask.classList.add("d-none"); });
    document.querySelectorAll("[data-sos-after]").forEach(function (after) { after.classList.remove("d-none"); });
    return true;
  }

  // Sends the queue in order; stops at the first action that cannot be sent now, leaving it
  // and the rest for later. An action the server has answered, yes or no, leaves the queue.
  function flush() {
    if (flushing) { return; }
    if (!load().length) { render(); return; }
    flushing = true;
    var notes = [];
    var reload = false;
    var tokenRenewed = false;

    function finish(problem) {
      flushing = false;
      render(problem);
      if (problem === "offline") { sosOffline(true); }
      if (!notes.length) { return; }
      if (reload && document.querySelector("[data-reload-after-send]")) {
        // The page is read again from the server, with what this page had shown so far.
        window.sessionStorage.setItem(SENT, JSON.stringify(shown.concat(notes)));
        window.location.reload();
      } else {
        window.sessionStorage.setItem(SENT, JSON.stringify(notes));
        showSent();
      }
    }

    function next() {
      var items = load();
      if (!items.length) { finish(); return; }
      var item = items[0];
      var token = csrfToken();
      window.fetch(item.url, {
        method: "POST",
        credentials: "same-origin",
        redirect: "manual",
        headers: {
          "Idempotency-Key": item.key,
          "X-CSRFToken": token,
          "Accept": "application/json",
          "Content-Type": "application/x-www-form-urlencoded"
        },
        body: item.body
      }).then(function (response) {
        // A redirect (to the sign-in page) or a refusal of the sign-in or the form's token:
        // nothing was done; it is sent again from a fresh page once the person signs in.
        if (response.status === 403 && !tokenRenewed) {
          // Refused for its token, maybe only a stale one: once per send, with a fresh one.
          tokenRenewed = true;
          return freshToken().then(function (fresh) {
            if (fresh && fresh !== token) { next(); } else { finish("signin"); }
          });
        }
        if (response.type === "opaqueredirect" || response.status === 401 || response.status === 403) {
          finish("signin");
          return;
        }
        if (response.status === 409 || response.status === 429 || response.status >= 500) {
          finish("waiting");
          return;
        }
        return response.json().catch(function () { return {}; }).then(function (data) {
          drop(item.key);
          var sos = item.sos && response.ok;
          // A 404 is an answer without words: the run or trip is not this person's any more.
          var message = data.message || (response.status === 404 && box ? box.getAttribute("data-gone") : "");
          if (item.sos && !response.ok) { sosRefused(); }
          if (!(sos && sosSent(data))) {
            notes.push({ ok: response.ok && data.ok !== false, label: item.label, message: message });
          }
          if (!sos) { reload = true; }
          next();
        });
      }).catch(function () { finish("offline"); });
    }
    next();
  }

  function position() { return window.escortPortalPosition || null; }

  function sosText(form) {
    var panel = document.getElementById("sos-offline");
    if (!panel) { return; }
    var now = new Date();
    var time = ("0" + now.getHours()).slice(-2) + ":" + ("0" + now.getMinutes()).slice(-2);
    var lat = form.elements.latitude ? form.elements.latitude.value : "";
    var lon = form.elements.longitude ? form.elements.longitude.value : "";
    var metres = form.elements.accuracy_m ? form.elements.accuracy_m.value : "";
    var place = lat && lon
      ? fill(panel.getAttribute("data-place"), { lat: lat, lon: lon, metres: metres || "?" })
      : panel.getAttribute("data-no-place");
    var body = "SOS " + panel.getAttribute("data-reference") + " " + time + ". " + place;
    document.getElementById("sos-sms-text").textContent = body;
    document.getElementById("sos-sms").setAttribute(
      "href", "sms:" + panel.getAttribute("data-number") + "?body=" + encodeURIComponent(body)
    );
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-queue")) { return; }
    event.preventDefault();
    // The same acknowledge, start, complete or SOS already waiting: a second tap adds nothing.
    var waiting = load().some(function (item) { return item.url === form.action; });
    if (!(form.hasAttribute("data-once") && waiting)) {
      var data = new FormData(form);
      data.delete("csrfmiddlewaretoken");
      data.delete("submission_token");
      data.set("made_ms", String(Date.now()));
      var fix = position();
      if (form.hasAttribute("data-with-position") && fix) {
        data.set("latitude", fix.latitude.toFixed(6));
        data.set("longitude", fix.longitude.toFixed(6));
        data.set("accuracy_m", String(Math.round(fix.accuracy)));
      }
      var items = load();
      items.push({
        key: uuid(),
        url: form.action,
        label: form.getAttribute("data-queue"),
        body: new URLSearchParams(data).toString(),
        sos: form.hasAttribute("data-sos")
      });
      save(items);
    }
    if (form.hasAttribute("data-sos")) { sosText(form); }
    var button = form.querySelector("button");
    if (button) {
      button.disabled = true;
      window.setTimeout(function () { button.disabled = false; }, 2000);
    }
    render();
    if (!window.navigator.onLine) { sosOffline(true); render(); return; }
    flush();
  });

  // The queue is kept per person: what waits when someone signs out is sent after their next
  // sign-in, never in another person's name.
  window.addEventListener("online", flush);
  window.addEventListener("pageshow", function () { render(); flush(); });
  window.setInterval(function () { if (window.navigator.onLine && load().length) { flush(); } }, 20000);
  showSent();
  render();
  sosOffline(!window.navigator.onLine);

  // The day's pages stay on the phone for when there is no connection: the service worker
  // keeps each as it is opened, and the trips' SOS pages are fetched now.
  if ("serviceWorker" in window.navigator) {
    window.navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
  }
  if (window.navigator.storage && window.navigator.storage.persist) {
    window.navigator.storage.persist().catch(function () {});
  }
  if (window.caches && window.navigator.onLine) {
    // This page too: on the first visit it was loaded before the service worker was there.
    var pages = [window.location.origin + window.location.pathname].concat(
      Array.prototype.map.call(document.querySelectorAll("[data-cache-page]"), function (link) {
        return link.href;
      })
    );
    window.caches.open("escort-portal-pages").then(function (cache) {
      return cache.addAll(pages);
    }).then(function () {
      document.documentElement.setAttribute("data-day-kept", "1");
    }).catch(function () {});
  }
})();
