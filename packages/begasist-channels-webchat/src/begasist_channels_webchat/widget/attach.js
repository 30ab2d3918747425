/* Begasist web chat: files a guest attaches (loaded by chat.html before chat.js, which
 * uses window.BegasistFiles: the tray of chosen files, their words, and how files show).
 *
 * A file is posted to the suite's uploads route (this frame's origin) with the
 * visitor's id and token; the answer's ref goes into the message frame, its url
 * shows the file. The suite decides the type by the file's content and enforces the
 * size: the checks here only spare the guest a useless upload.
 */
(function () {
  "use strict";

  var WORDS = {
    en: {
      attach: "Attach a file",
      remove: "Remove",
      image: "Image",
      document: "Document",
      uploading: "uploading",
      tooLarge: "This file is too large: at most %s MB.",
      wrongType: "Only images (JPEG, PNG, GIF, WebP) and PDF files can be sent.",
      tooMany: "Too many files for now: try again in a minute.",
      uploadFailed: "The file could not be sent: try again."
    },
    es: {
      attach: "Adjuntar un archivo",
      remove: "Quitar",
      image: "Imagen",
      document: "Documento",
      uploading: "subiendo",
      tooLarge: "Este archivo es demasiado grande: como máximo %s MB.",
      wrongType: "Solo se pueden enviar imágenes (JPEG, PNG, GIF, WebP) y archivos PDF.",
      tooMany: "Demasiados archivos por ahora: inténtalo dentro de un minuto.",
      uploadFailed: "No se pudo enviar el archivo: inténtalo de nuevo."
    }
  };
  var MAX_FILES = 5; // the channel's limit per message
  var ERRORS = {
    too_large: "tooLarge",
    unsupported_type: "wrongType",
    rate_limited: "tooMany",
    unauthenticated: "uploadFailed",
    forbidden: "uploadFailed"
  };

  function megabytes(bytes) {
    return (Math.round((bytes / 1048576) * 10) / 10).toString();
  }

  /* Why *file* cannot be sent under *config* (a word key), or null. */
  function refusal(file, config) {
    var types = config.attachment_types || [];
    // A type the browser does not know ("") is left to the suite, which reads the bytes.
    if (!types.length || (file.type && types.indexOf(file.type) < 0)) {
      return "wrongType";
    }
    if (config.max_attachment_bytes && file.size > config.max_attachment_bytes) {
      return "tooLarge";
    }
    return null;
  }

  /* Post *file*; calls progress(percent), then done(answer) or failed(wordKey). */
  function upload(file, session, progress, done, failed) {
    var request = new XMLHttpRequest();
    request.open("POST", "uploads");
    request.setRequestHeader("X-Begasist-Visitor", session.visitor);
    request.setRequestHeader("X-Begasist-Token", session.token);
    if (session.embedder) {
      request.setRequestHeader("X-Begasist-Embedder", session.embedder);
    }
    request.setRequestHeader("X-Begasist-Filename", encodeURIComponent(file.name));
    request.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) {
        progress(Math.floor((event.loaded / event.total) * 100));
      }
    });
    request.addEventListener("load", function () {
      var answer = null;
      try {
        answer = JSON.parse(request.responseText);
      } catch (error) {
        answer = null;
      }
      if (request.status === 201 && answer && answer.ref) {
        done(answer);
      } else {
        failed(ERRORS[(answer && answer.error) || ""] || "uploadFailed");
      }
    });
    request.addEventListener("error", function () {
      failed("uploadFailed");
    });
    request.send(file);
  }

  /* Show *files* (stored attachments or upload answers) at the end of *item*. */
  function show(item, files, words) {
    (files || []).forEach(function (file) {
      var name = file.filename || (file.kind === "image" ? words.image : words.document);
      var box = document.createElement("span");
      box.className = "file";
      if (file.url && file.kind === "image") {
        var link = document.createElement("a");
        link.href = file.url;
        link.target = "_blank";
        link.rel = "noopener";
        var image = document.createElement("img");
        image.src = file.url;
        image.alt = name;
        link.appendChild(image);
        box.appendChild(link);
      } else if (file.url) {
        var download = document.createElement("a");
        download.href = file.url;
        download.download = name;
        download.textContent = name + (file.size_bytes ? " (" + megabytes(file.size_bytes) + " MB)" : "");
        box.appendChild(download);
      } else {
        box.textContent = name;
      }
      item.appendChild(box);
    });
  }

  /* *words* with the words of files in *lang* added. */
  function withWords(words, lang) {
    var added = WORDS[lang] || WORDS.en;
    Object.keys(added).forEach(function (key) {
      words[key] = added[key];
    });
    return words;
  }

  /* The files chosen for the next message: each a chip with its progress and a Remove
   * button; Send waits while one is uploading. *parts*: list, problem, button, send,
   * words, config() and session(). */
  function tray(parts) {
    var entries = []; // {answer (null while uploading), chip}
    var words = parts.words;

    function say(key) {
      var limit = megabytes(parts.config().max_attachment_bytes || 0);
      parts.problem.textContent = key ? words[key].replace("%s", limit) : "";
      parts.problem.hidden = !key;
    }

    function uploading() {
      return entries.some(function (entry) {
        return !entry.answer;
      });
    }

    function drop(entry) {
      entries = entries.filter(function (other) {
        return other !== entry;
      });
      entry.chip.remove();
      parts.send.disabled = uploading();
      parts.button.focus();
    }

    function add(file) {
      var session = parts.session();
      var refused = session.token ? refusal(file, parts.config()) : "uploadFailed";
      if (refused) {
        say(refused);
        return;
      }
      var entry = { answer: null, chip: document.createElement("li") };
      var label = document.createElement("span");
      label.textContent = file.name + " (" + words.uploading + " 0%)";
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "remove";
      remove.textContent = "×";
      remove.setAttribute("aria-label", words.remove + " " + file.name);
      remove.addEventListener("click", function () {
        drop(entry);
      });
      entry.chip.appendChild(label);
      entry.chip.appendChild(remove);
      parts.list.appendChild(entry.chip);
      entries.push(entry);
      parts.send.disabled = true;
      upload(
        file,
        session,
        function (percent) {
          label.textContent = file.name + " (" + words.uploading + " " + percent + "%)";
        },
        function (answer) {
          entry.answer = answer;
          label.textContent = answer.filename || file.name;
          parts.send.disabled = uploading();
        },
        function (wordKey) {
          drop(entry);
          say(wordKey);
        }
      );
    }

    return {
      add: function (files) {
        say("");
        files.slice(0, Math.max(0, MAX_FILES - entries.length)).forEach(add);
      },
      uploading: uploading,
      count: function () {
        return entries.length;
      },
      /* The uploads' answers, for the message being sent; the tray is emptied. */
      take: function () {
        var answers = entries.map(function (entry) {
          entry.chip.remove();
          return entry.answer;
        });
        entries = [];
        say("");
        return answers;
      }
    };
  }

  window.BegasistFiles = { show: show, tray: tray, withWords: withWords };
})();
