/*
 * Live regions: an element with data-live-src is reloaded from that URL (which
 * answers with an HTML fragment) every data-live-every milliseconds, and stops
 * once the fragment holds an element marked data-live-done. It also stops when
 * the URL answers with anything but a fragment (signed out, gone), and waits
 * while the tab is hidden. Without this script a page shows the state it was
 * loaded in. Give the region aria-live="polite" so that changes are announced.
 */
(function () {
  "use strict";

  var DEFAULT_EVERY = 1000;
  var MIN_EVERY = 250;
  var RETRY_FACTOR = 4; // after a network error or a 5xx, look again less often

  function follow(region) {
    var src = region.getAttribute("data-live-src");
    var every = Math.max(MIN_EVERY, Number(region.getAttribute("data-live-every")) || DEFAULT_EVERY);
    var timer = null;
    var busy = false;
    var stopped = false;

    function finished() {
      return region.querySelector("[data-live-done]") !== null;
    }

    function stop(why) {
      stopped = true;
      region.setAttribute("data-live-stopped", why);
    }

    function schedule(delay) {
      if (!stopped && !busy && timer === null) {
        timer = window.setTimeout(poll, delay);
      }
    }

    function swap(html) {
      var parsed = document.createElement("template");
      parsed.innerHTML = html;
      // Replace only what changed, so that screen readers announce changes, not repeats.
      if (parsed.innerHTML.trim() !== region.innerHTML.trim()) {
        region.replaceChildren(parsed.content);
      }
    }

    function poll() {
      timer = null;
      if (document.hidden) {
        return; // visibilitychange starts again
      }
      busy = true;
      fetch(src, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
        redirect: "manual", // a redirect means the session is over: keep what is shown
        cache: "no-store"
      })
        .then(function (response) {
          if (response.ok) {
            return response.text().then(function (html) {
              swap(html);
              busy = false;
              if (finished()) {
                stop("done");
              } else {
                schedule(every);
              }
            });
          }
          busy = false;
          if (response.status >= 500) {
            schedule(every * RETRY_FACTOR);
          } else {
            stop(response.type === "opaqueredirect" ? "signed-out" : "refused");
          }
          return undefined;
        })
        .catch(function () {
          busy = false;
          schedule(every * RETRY_FACTOR); // the server may be restarting
        });
    }

    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) {
        schedule(0);
      }
    });
    if (finished()) {
      stop("done");
    } else {
      schedule(every);
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-live-src]"), follow);
})();
