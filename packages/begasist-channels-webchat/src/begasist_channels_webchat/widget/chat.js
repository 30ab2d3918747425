/* Begasist web chat window (chat.html, framed by widget.js on the hotel's page).
 *
 * Speaks the guest socket's protocol (the package README): hello, then messages,
 * receipts and pings. The visitor id and token live in this frame's localStorage
 * (the suite's origin, not the hotel page's), so a reload finds the history again.
 * Every text is put in the page with textContent: a message is never HTML.
 */
(function () {
  "use strict";
  var WORDS = {
    en: {
      chat: "Chat with the hotel",
      close: "Close the chat",
      message: "Your message",
      send: "Send",
      prechat: "Before we start: how should we call you?",
      name: "Name",
      email: "Email",
      emailOptional: "Email (optional)",
      emailHelp: "If you leave, we will email you our answer.",
      emailInvalid: "Enter an email address such as ana@example.com.",
      emailMissing: "Enter your email address.",
      start: "Start",
      you: "You",
      hotel: "Hotel",
      sending: "Sending…",
      sent: "Sent",
      connecting: "Connecting…",
      reconnecting: "Connection lost: reconnecting…",
      refused: "The chat cannot connect from this page.",
      unverified: "The chat cannot connect: your identity could not be verified.",
      offline: "We are offline now; leave a message and we will answer.",
      earlier: "Show earlier messages"
    },
    es: {
      chat: "Chat con el hotel",
      close: "Cerrar el chat",
      message: "Tu mensaje",
      send: "Enviar",
      prechat: "Antes de empezar: ¿cómo te llamas?",
      name: "Nombre",
      email: "Correo electrónico",
      emailOptional: "Correo electrónico (opcional)",
      emailHelp: "Si te vas, te enviaremos la respuesta por correo.",
      emailInvalid: "Escribe un correo como ana@example.com.",
      emailMissing: "Escribe tu correo electrónico.",
      start: "Empezar",
      you: "Tú",
      hotel: "Hotel",
      sending: "Enviando…",
      sent: "Enviado",
      connecting: "Conectando…",
      reconnecting: "Conexión perdida: reconectando…",
      refused: "El chat no puede conectarse desde esta página.",
      unverified: "El chat no puede conectarse: no se pudo verificar tu identidad.",
      offline: "Ahora no estamos; deja tu mensaje y te responderemos.",
      earlier: "Ver mensajes anteriores"
    }
  };
  var REFUSED = { 4401: "unverified", 4403: "refused", 4404: "refused" };
  var PING_MS = 25000;
  var RECEIPTS_PER_BATCH = 5;
  var Files = window.BegasistFiles;
  var Prechat = window.BegasistPrechat;

  var params = new URLSearchParams(location.hash.slice(1));
  var requested = (params.get("lang") || navigator.language || "en").toLowerCase();
  var lang = requested.slice(0, 2) === "es" ? "es" : "en";
  var words = Files.withWords(WORDS[lang], lang);
  var storageKey = "begasist:" + location.pathname.replace(/chat\.html$/, "");
  var socketUrl =
    (location.protocol === "https:" ? "wss://" : "ws://") +
    location.host +
    location.pathname.replace(/chat\.html$/, "socket");

  var log = document.getElementById("log");
  var state = document.getElementById("state");
  var compose = document.getElementById("compose");
  var text = document.getElementById("text");
  var attachButton = document.getElementById("attach");
  var picker = document.getElementById("file");
  var earlierButton = document.getElementById("earlier");

  var socket = null;
  var attempt = 0;
  var stopped = false;
  var shown = window.parent === window;
  var pending = []; // {id, text, refs, bubble}: written, not yet accepted; resent after a reconnect
  var chatConfig = {};
  var hotelMessages = {}; // id -> the receipt sent so far ("", "delivered", "read")
  var oldest = null; // the id of the oldest message shown: where "earlier" pages back from
  var earlierExist = false; // the session frame's word: older messages than the history's
  var asking = null; // the id an earlier page was asked before, until it comes
  var saved = load();
  var guestName = saved.name || params.get("name") || null;
  var guestEmail = saved.email || null;

  function load() {
    try {
      return JSON.parse(localStorage.getItem(storageKey) || "{}") || {};
    } catch (error) {
      return {};
    }
  }

  function store() {
    try {
      localStorage.setItem(storageKey, JSON.stringify(saved));
    } catch (error) {
      /* storage full or denied: the chat works, a reload starts afresh */
    }
  }

  function translate() {
    document.documentElement.lang = lang;
    document.querySelectorAll("[data-word]").forEach(function (element) {
      element.textContent = words[element.getAttribute("data-word")];
    });
    document.querySelectorAll("[data-word-label]").forEach(function (element) {
      element.setAttribute("aria-label", words[element.getAttribute("data-word-label")]);
    });
  }

  function say(what, problem) {
    state.textContent = what ? words[what] : "";
    state.classList.toggle("problem", Boolean(problem));
  }

  function bubble(who, body, files, before) {
    var item = document.createElement("p");
    item.className = "bubble " + who;
    var label = document.createElement("span");
    label.className = "who";
    label.textContent = who === "guest" ? words.you : words.hotel;
    item.appendChild(label);
    item.appendChild(document.createTextNode(body));
    Files.show(item, files, words);
    if (before) {
      log.insertBefore(item, before); // an earlier page: the view stays where it was
    } else {
      log.appendChild(item);
      log.scrollTop = log.scrollHeight;
    }
    return item;
  }

  function tick(item, what) {
    var mark = item.querySelector(".tick");
    if (!mark) {
      mark = document.createElement("span");
      mark.className = "tick";
      item.appendChild(mark);
    }
    mark.textContent = words[what];
  }

  function newId() {
    var bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function receipts() {
    // Read when the window is on screen, delivered otherwise; the newest few only, as
    // every frame counts against the visitor's rate limit.
    var want = shown && document.visibilityState === "visible" ? "read" : "delivered";
    var due = Object.keys(hotelMessages).filter(function (id) {
      var had = hotelMessages[id];
      return had !== "read" && had !== want;
    });
    due.slice(-RECEIPTS_PER_BATCH).forEach(function (id) {
      if (send({ type: "receipt", id: id, status: want })) {
        hotelMessages[id] = want;
      }
    });
  }

  function showMessage(message, before) {
    if (message.direction === "outbound") {
      bubble("hotel", message.text, message.attachments, before);
      if (!(message.id in hotelMessages)) {
        hotelMessages[message.id] = message.status === "read" ? "read" : "";
      }
    } else {
      tick(bubble("guest", message.text, message.attachments, before), "sent");
    }
  }

  function offerEarlier(exist) {
    earlierExist = Boolean(exist) && oldest !== null;
    earlierButton.hidden = !earlierExist;
    asking = null;
  }

  function askEarlier() {
    // Not disabled while asked (a disabled button would lose the keyboard's focus):
    // a second press while the page is on its way asks nothing more.
    if (earlierExist && asking !== oldest && send({ type: "earlier", before: oldest })) {
      asking = oldest;
    }
  }

  function showEarlier(frame) {
    // Only the answer to the page asked for: an answer to a page before a reconnect
    // replaced the history is dropped.
    if (frame.before !== oldest) {
      return;
    }
    var first = log.querySelector(".bubble:not(.greeting)");
    var height = log.scrollHeight;
    (frame.messages || []).forEach(function (message) {
      showMessage(message, first);
    });
    log.scrollTop += log.scrollHeight - height;
    if (frame.messages && frame.messages.length) {
      oldest = frame.messages[0].id;
    }
    var more = Boolean(frame.earlier) && Boolean(frame.messages && frame.messages.length);
    offerEarlier(more);
    if (!more) {
      log.focus(); // the button is gone: keep the keyboard's place in the conversation
    }
  }

  function showHistory(messages) {
    // Each (re)connect sends the whole history: it replaces what is shown, and what is
    // still unacknowledged is shown after it and sent again (with its id: stored once).
    log.querySelectorAll(".bubble:not(.greeting)").forEach(function (item) {
      item.remove();
    });
    messages.forEach(function (message) {
      if (message.direction === "outbound") {
        // What the suite has is what counts: a receipt sent as the socket dropped was
        // lost with it, and goes again now.
        hotelMessages[message.id] =
          message.status === "read" || message.status === "delivered" ? message.status : "";
      }
      showMessage(message);
    });
    oldest = messages.length ? messages[0].id : null;
    offerEarlier(earlierExist);
    pending.forEach(function (waiting) {
      log.appendChild(waiting.bubble);
      send({ type: "message", id: waiting.id, text: waiting.text, attachments: waiting.refs });
    });
    receipts();
  }

  function receive(event) {
    var frame;
    try {
      frame = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    if (frame.type === "session") {
      saved.visitor = frame.visitor;
      saved.token = frame.token; // renewed at each connection: it expires unused
      earlierExist = Boolean(frame.earlier);
      store();
      attempt = 0;
      say("");
    } else if (frame.type === "history") {
      showHistory(frame.messages || []);
    } else if (frame.type === "earlier") {
      showEarlier(frame);
    } else if (frame.type === "accepted") {
      pending = pending.filter(function (waiting) {
        if (waiting.id === frame.id) {
          tick(waiting.bubble, "sent");
          return false;
        }
        return true;
      });
    } else if (frame.type === "message" && frame.message) {
      showMessage(frame.message);
      receipts();
    }
  }

  function embedder() {
    if (location.ancestorOrigins && location.ancestorOrigins.length) {
      return location.ancestorOrigins[0];
    }
    try {
      return document.referrer ? new URL(document.referrer).origin : null;
    } catch (error) {
      return null;
    }
  }

  function connect() {
    say(attempt ? "reconnecting" : "connecting");
    var sentToken = Boolean(saved.token);
    socket = new WebSocket(socketUrl);
    socket.addEventListener("open", function () {
      send({
        type: "hello",
        visitor: saved.visitor || null,
        token: saved.token || null,
        identifier: params.get("identifier"),
        identifier_hash: params.get("identifier_hash"),
        name: guestName,
        email: guestEmail,
        language: lang,
        embedder: embedder()
      });
    });
    socket.addEventListener("message", receive);
    socket.addEventListener("close", function (event) {
      socket = null;
      if (event.code === 4400 && guestEmail && !saved.token) {
        // The suite refused the email address the form let through: ask it again.
        guestEmail = saved.email = null;
        store();
        askPrechat(chatConfig, "emailInvalid");
        return;
      }
      if (event.code === 4401 && sentToken && event.reason === "visitor token invalid") {
        // A token this suite no longer accepts (expired after a long absence, of an
        // older format, or its secret changed): start afresh once as a new visitor.
        saved = {};
        store();
        connect();
        return;
      }
      if (REFUSED[event.code]) {
        stopped = true;
        say(REFUSED[event.code], true);
        text.disabled = true;
        attachButton.disabled = true;
        document.getElementById("send").disabled = true;
        return;
      }
      attempt += 1;
      say("reconnecting", true);
      var delay = Math.min(30000, 500 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2);
      setTimeout(connect, delay);
    });
  }

  function write(body, files) {
    var refs = files.map(function (file) {
      return file.ref;
    });
    var waiting = { id: newId(), text: body, refs: refs, bubble: bubble("guest", body, files) };
    tick(waiting.bubble, "sending");
    pending.push(waiting);
    send({ type: "message", id: waiting.id, text: body, attachments: refs });
  }

  function officeHoursNow(config) {
    var spans = config.office_hours || [];
    if (!spans.length) {
      return true;
    }
    var parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: config.time_zone || "UTC",
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23"
    })
      .formatToParts(new Date())
      .forEach(function (part) {
        parts[part.type] = part.value;
      });
    var day = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(parts.weekday);
    var now = parts.hour + ":" + parts.minute;
    return spans.some(function (span) {
      return span.days.indexOf(day) >= 0 && span.opens.slice(0, 5) <= now && now < span.closes.slice(0, 5);
    });
  }

  function askPrechat(config, problem) {
    compose.hidden = true;
    Prechat.ask(config, problem, words, function (name, address) {
      guestName = saved.name = name;
      guestEmail = saved.email = address;
      store();
      compose.hidden = false;
      text.focus();
      connect();
    });
  }

  function configure(config) {
    chatConfig = config;
    if ((config.attachment_types || []).length) {
      picker.accept = config.attachment_types.join(",");
      attachButton.hidden = false;
    }
    var root = document.documentElement.style;
    if (/^#[0-9a-fA-F]{6}$/.test(config.primary_colour || "")) {
      root.setProperty("--primary", config.primary_colour);
    }
    if (/^#[0-9a-fA-F]{6}$/.test(config.text_colour || "")) {
      root.setProperty("--ink", config.text_colour);
    }
    if (config.greeting) {
      bubble("hotel", config.greeting).classList.add("greeting");
    }
    if (!officeHoursNow(config)) {
      var offline = document.getElementById("offline");
      offline.textContent = config.offline_message || words.offline;
      offline.hidden = false;
    }
    if (config.pre_chat_form && !guestName) {
      askPrechat(config, null);
      return;
    }
    connect();
  }

  var tray = Files.tray({
    list: document.getElementById("files"),
    problem: document.getElementById("file-problem"),
    button: attachButton,
    send: document.getElementById("send"),
    words: words,
    config: function () {
      return chatConfig;
    },
    session: function () {
      return { visitor: saved.visitor, token: saved.token, embedder: embedder() };
    }
  });

  translate();
  compose.addEventListener("submit", function (event) {
    event.preventDefault();
    var body = text.value.trim();
    if (stopped || tray.uploading() || (!body && !tray.count())) {
      return;
    }
    write(body, tray.take());
    text.value = "";
  });
  attachButton.addEventListener("click", function () {
    picker.click();
  });
  picker.addEventListener("change", function () {
    tray.add(Array.prototype.slice.call(picker.files || []));
    picker.value = "";
  });
  text.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      compose.requestSubmit();
    }
  });
  earlierButton.addEventListener("click", askEarlier);
  document.getElementById("close").addEventListener("click", function () {
    window.parent.postMessage({ type: "begasist:close" }, "*");
  });
  window.addEventListener("message", function (event) {
    if (event.source === window.parent && event.data && event.data.type === "begasist:shown") {
      shown = Boolean(event.data.shown);
      if (shown) {
        text.focus();
      }
      receipts();
    }
  });
  document.addEventListener("visibilitychange", receipts);
  setInterval(function () {
    send({ type: "ping" });
  }, PING_MS);
  fetch("config.json", { credentials: "omit" })
    .then(function (answer) {
      return answer.ok ? answer.json() : {};
    })
    .then(configure, function () {
      configure({});
    });
})();
