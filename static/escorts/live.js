// The duty officer's live board: a fresh copy of the board every half minute, swapped in
// place, so the page keeps its scroll and needs no inline script.
(function () {
  "use strict";
  var board = document.getElementById("live-board");
  if (!board) { return; }
  var seconds = parseInt(board.getAttribute("data-refresh-seconds"), 10) || 30;
  var refresh = function () {
    window.fetch(board.getAttribute("data-refresh-url"), { credentials: "same-origin" })
      .then(function (response) {
        // A session that ended is answered with the sign-in page: keep the board as it is.
        if (!response.ok || response.redirected) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        board.innerHTML = html;
        board.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () {})
      .then(function () { window.setTimeout(refresh, seconds * 1000); });
  };
  window.setTimeout(refresh, seconds * 1000);
})();
