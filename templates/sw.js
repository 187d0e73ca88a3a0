// The Escort Portal's service worker. It keeps the day pages of field agents and escorts, and
// the static files they use, for when the phone has no connection: those pages come from the
// network when it answers (and are kept), else from what was kept. Everything else goes to
// the network as if there were no service worker. Actions taken offline wait in the page's own
// queue (static/field/queue.js), not here: background sync is unreliable on Android.
"use strict";
var VERSION = "{{ version }}";
var STATIC = "escort-portal-static-" + VERSION;
var PAGES = "escort-portal-pages";
var SHELL = [{% for url in shell %}"{{ url|escapejs }}"{% if not forloop.last %}, {% endif %}{% endfor %}];
var STATIC_PREFIX = "{{ static_prefix|escapejs }}";
var FIELD_PAGES = [
  /^\/station\/[^/]+\/escorts\/my-day\/$/,
  /^\/station\/[^/]+\/lenders\/my-trips\/$/,
  /^\/station\/[^/]+\/lenders\/my-trips\/\d+\/sos\/$/
];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(STATIC).then(function (cache) { return cache.addAll(SHELL); }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (key) {
        return key.indexOf("escort-portal-static-") === 0 && key !== STATIC;
      }).map(function (key) { return caches.delete(key); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function isFieldPage(url) {
  return FIELD_PAGES.some(function (pattern) { return pattern.test(url.pathname); });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.method === "POST" && url.pathname === "/accounts/logout/") {
    // Someone else may use the phone next: the day's pages leave with the sign-out.
    event.waitUntil(caches.delete(PAGES));
    return;
  }
  if (request.method !== "GET") { return; }
  if (url.pathname.indexOf(STATIC_PREFIX) === 0) {
    event.respondWith(caches.match(request).then(function (kept) { return kept || fetch(request); }));
    return;
  }
  if (request.mode === "navigate" && isFieldPage(url)) {
    var key = url.origin + url.pathname;
    event.respondWith(
      fetch(request).then(function (response) {
        if (response.ok && !response.redirected) {
          var copy = response.clone();
          caches.open(PAGES).then(function (cache) { return cache.put(key, copy); });
        }
        return response;
      }).catch(function () {
        return caches.open(PAGES)
          .then(function (cache) { return cache.match(key); })
          .then(function (kept) { return kept || Response.error(); });
      })
    );
  }
});
