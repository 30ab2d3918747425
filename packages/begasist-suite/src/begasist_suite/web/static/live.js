// Live updates for the hotel's pages: our own small script, loaded by every page.
//
// It opens the hotel's live socket (/api/v1/hotels/{hotel}/live: same origin,
// the session cookie authenticates it), shows its state in the top bar, and on
// every notice fetches the page again (its address in body's data-here: a page
// that answered a form is fetched at its own address, never posted again) and
// swaps the parts marked data-live-region, keeping each pane's scroll position
// and never touching a region the person is typing in. A region marked
// data-poll-seconds (a channel pairing: its QR code changes with no notice) is
// also fetched that often while it is on the page. A receipt (a message.status
// notice) moves the tick of a message on the page in place, with the words the
// thread carries (data-status-*), and fetches nothing: nothing else changes with
// it. Without this script the pages work the same, with a reload for news.
(function () {
  "use strict";

  var hotel = document.body.dataset.hotel;
  var here = document.body.dataset.here || window.location.href;
  var indicator = document.getElementById("live-status");
  if (!hotel || !indicator || !window.WebSocket || !window.fetch) {
    return;
  }

  var PING_MS = 25000;
  var MAX_DELAY_MS = 30000;
  var DELIVERY = ["queued", "sent", "delivered", "read"];
  var delay = 1000;
  var fetching = false;
  var again = false;
  var pinger = null;

  function show(state) {
    indicator.dataset.state = state;
    indicator.textContent = indicator.dataset[state];
  }

  function busy(region) {
    // A box the person is typing in (or has typed in) is theirs: leave it alone.
    var active = document.activeElement;
    if (active && region.contains(active) && /^(TEXTAREA|INPUT|SELECT)$/.test(active.tagName)) {
      return true;
    }
    var boxes = region.querySelectorAll("textarea");
    for (var i = 0; i < boxes.length; i++) {
      if (boxes[i].value !== boxes[i].defaultValue) {
        return true;
      }
    }
    return false;
  }

  function swap(fresh) {
    var panes = Array.prototype.slice.call(document.querySelectorAll(".pane"));
    var scrolls = panes.map(function (pane) {
      var atEnd = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 8;
      return { pane: pane, top: pane.scrollTop, atEnd: atEnd };
    });
    var regions = document.querySelectorAll("[data-live-region][id]");
    for (var i = 0; i < regions.length; i++) {
      var region = regions[i];
      var replacement = fresh.getElementById(region.id);
      if (replacement && !busy(region) && replacement.innerHTML !== region.innerHTML) {
        region.replaceWith(document.importNode(replacement, true));
      }
    }
    scrolls.forEach(function (saved) {
      // The thread follows new messages when it was at its end; the rest stays put.
      var follow = saved.atEnd && saved.pane.classList.contains("thread-pane");
      saved.pane.scrollTop = follow ? saved.pane.scrollHeight : saved.top;
    });
  }

  function refresh() {
    if (!document.querySelector("[data-live-region]")) {
      return; // nothing on this page changes with the news
    }
    if (fetching) {
      again = true;
      return;
    }
    fetching = true;
    fetch(here, { credentials: "same-origin", headers: { accept: "text/html" } })
      .then(function (response) {
        if (!response.ok || response.redirected) {
          // Signed out or gone: opening the page shows the sign-in or error page.
          window.location.assign(here);
          return null;
        }
        return response.text();
      })
      .then(function (html) {
        if (html !== null) {
          swap(new DOMParser().parseFromString(html, "text/html"));
        }
      })
      .catch(function () {
        show("reconnecting");
      })
      .then(function () {
        fetching = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  function moveTick(notice) {
    // True when the notice is shown (or concerns no message on this page); false when
    // the page must be fetched: a failure brings its reason, and maybe a retry.
    if (notice.failed) {
      return false;
    }
    var item = document.getElementById("m-" + notice.message_id);
    if (!item) {
      return true; // ticks show only in the thread, and this message is not in it
    }
    var tick = item.querySelector(".status[data-status]");
    var thread = item.closest(".thread");
    var words = thread && thread.getAttribute("data-status-" + notice.status);
    if (!tick || !words) {
      return false;
    }
    // Forward only, as the store moves it: a late "delivered" never undoes "read".
    if (DELIVERY.indexOf(notice.status) > DELIVERY.indexOf(tick.dataset.status)) {
      tick.dataset.status = notice.status;
      tick.textContent = words;
    }
    return true;
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var url = scheme + "//" + window.location.host + "/api/v1/hotels/" +
      encodeURIComponent(hotel) + "/live";
    var socket = new WebSocket(url);
    socket.onopen = function () {
      delay = 1000;
      show("connected");
      pinger = window.setInterval(function () { socket.send("ping"); }, PING_MS);
      // What changed while the socket was down, or, on the first connection, since the
      // page was made: a notice published while it loaded reached no socket (a reply's
      // "sent" while the page that sent it was coming back).
      refresh();
    };
    socket.onmessage = function (event) {
      var notice;
      try {
        notice = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (notice.kind === "message.status" && moveTick(notice)) {
        return;
      }
      if (notice.kind !== "pong") {
        refresh();
      }
    };
    socket.onclose = function () {
      window.clearInterval(pinger);
      show("reconnecting");
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    };
  }

  function poll() {
    var region = document.querySelector("[data-poll-seconds]");
    var seconds = region ? parseInt(region.dataset.pollSeconds, 10) : 0;
    if (seconds > 0) {
      refresh();
    }
    window.setTimeout(poll, Math.max(seconds, 5) * 1000);
  }

  var thread = document.querySelector(".thread-pane");
  if (thread) {
    thread.scrollTop = thread.scrollHeight; // the latest messages first in view
  }
  connect();
  window.setTimeout(poll, 5000);
})();
