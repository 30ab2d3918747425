/* Begasist web chat: the launcher button and the framed chat window, added to a hotel's page.
 *
 * Embedded with one tag: <script src="https://SUITE/guest/HOTEL/webchat/widget.js"
 * data-key="HOTEL/webchat" async></script>. The chat itself runs in an iframe served by
 * the suite (chat.html), so the page's styles and scripts cannot reach it; this script
 * only places the button and the frame, and tells the frame when it is shown.
 * Optional attributes: data-identifier and data-identifier-hash (a signed-in guest,
 * HMAC-SHA256 hex of the identifier with the channel's identity secret), data-name.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.begasistWebchat) {
    return;
  }
  window.begasistWebchat = true;
  var src = new URL(script.src);
  var parts = src.pathname.split("/");
  var key = script.getAttribute("data-key") || parts[2] + "/" + parts[3];
  if (!/^[a-z0-9-]+\/[a-z0-9_-]+$/.test(key)) {
    return;
  }
  var base = src.origin + "/guest/" + key + "/";
  var pageLang = (document.documentElement.lang || navigator.language || "en").toLowerCase();
  var lang = pageLang.slice(0, 2) === "es" ? "es" : "en";
  var words = {
    en: {
      open: "Chat with us",
      close: "Close the chat",
      chat: "Chat with the hotel",
      unavailable: "The chat cannot open on this page."
    },
    es: {
      open: "Chatea con nosotros",
      close: "Cerrar el chat",
      chat: "Chat con el hotel",
      unavailable: "El chat no puede abrirse en esta página."
    }
  }[lang];

  function css(element, rules) {
    // Property by property (CSSOM): allowed under a host page's strict CSP, unlike a
    // style attribute; "all: initial" first so the page's own rules do not leak in.
    element.style.setProperty("all", "initial");
    Object.keys(rules).forEach(function (name) {
      element.style.setProperty(name, rules[name], "important");
    });
  }

  function phone() {
    return window.matchMedia("(max-width: 480px)").matches;
  }

  function build(config) {
    var primary = (config && config.primary_colour) || "#1f5f8b";
    var ink = (config && config.text_colour) || "#ffffff";
    var root = document.createElement("div");
    root.setAttribute("data-begasist-webchat", "");
    css(root, {
      position: "fixed",
      right: "16px",
      bottom: "16px",
      "z-index": "2147483000",
      display: "flex",
      "flex-direction": "column",
      "align-items": "flex-end",
      gap: "8px",
      "font-family": "system-ui, sans-serif"
    });
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = words.open;
    button.setAttribute("aria-expanded", "false");
    css(button, {
      "min-height": "48px",
      padding: "0 20px",
      "border-radius": "24px",
      border: "2px solid " + ink,
      background: primary,
      color: ink,
      font: "600 16px system-ui, sans-serif",
      cursor: "pointer",
      "box-shadow": "0 2px 8px rgba(0,0,0,.3)"
    });
    var notice = null;
    var frame = null;

    function frameSize() {
      if (!frame) {
        return;
      }
      var small = phone();
      css(frame, {
        display: frame.hidden ? "none" : "block",
        position: small ? "fixed" : "static",
        inset: small ? "0" : "auto",
        width: small ? "100vw" : "370px",
        height: small ? "100dvh" : "560px",
        "max-height": small ? "100dvh" : "calc(100vh - 96px)",
        border: small ? "0" : "1px solid #8a8a8a",
        "border-radius": small ? "0" : "12px",
        background: "#ffffff",
        "box-shadow": "0 4px 24px rgba(0,0,0,.25)"
      });
    }

    function tellFrame(shown) {
      if (frame && frame.contentWindow) {
        frame.contentWindow.postMessage({ type: "begasist:shown", shown: shown }, src.origin);
      }
    }

    function show(open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      button.textContent = open ? words.close : words.open;
      if (!config) {
        if (!notice) {
          notice = document.createElement("p");
          notice.setAttribute("role", "alert");
          css(notice, {
            display: "block",
            "max-width": "280px",
            padding: "12px",
            background: "#ffffff",
            color: "#222222",
            border: "1px solid #8a8a8a",
            "border-radius": "8px",
            font: "15px system-ui, sans-serif"
          });
          notice.textContent = words.unavailable;
          root.insertBefore(notice, button);
        }
        notice.hidden = !open;
        notice.style.setProperty("display", open ? "block" : "none", "important");
        return;
      }
      if (!frame) {
        var hash = new URLSearchParams({ lang: lang });
        ["identifier", "identifier-hash", "name"].forEach(function (name) {
          var value = script.getAttribute("data-" + name);
          if (value) {
            hash.set(name.replace("-", "_"), value);
          }
        });
        frame = document.createElement("iframe");
        frame.title = words.chat;
        frame.id = "begasist-webchat-frame";
        frame.src = base + "chat.html#" + hash.toString();
        frame.addEventListener("load", function () {
          tellFrame(!frame.hidden);
        });
        root.insertBefore(frame, button);
        button.setAttribute("aria-controls", frame.id);
      }
      frame.hidden = !open;
      frameSize();
      tellFrame(open);
      if (open) {
        frame.focus();
      }
    }

    button.addEventListener("click", function () {
      show(button.getAttribute("aria-expanded") !== "true");
    });
    window.addEventListener("message", function (event) {
      if (frame && event.source === frame.contentWindow && event.origin === src.origin) {
        if (event.data && event.data.type === "begasist:close") {
          show(false);
          button.focus();
        }
      }
    });
    window.addEventListener("resize", frameSize);
    root.appendChild(button);
    document.body.appendChild(root);
  }

  fetch(base + "config.json", { mode: "cors", credentials: "omit" })
    .then(function (answer) {
      if (!answer.ok) {
        throw new Error("refused");
      }
      return answer.json();
    })
    .then(build, function () {
      build(null);
    });
})();
