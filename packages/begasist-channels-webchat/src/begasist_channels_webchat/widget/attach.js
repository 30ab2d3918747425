/* Begasist web chat: files a guest attaches (loaded by chat.html before chat.js).
 *
 * A file is posted to the suite's uploads route (this frame's origin) with the
 * visitor's id and token; the answer's ref goes into the message frame, its url
 * shows the file. The suite decides the type by the file's content and enforces the
 * size: the checks here only spare the guest a useless upload.
 */
(function () {
  "use strict";

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
    if (types.indexOf(file.type) < 0) {
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

  window.BegasistFiles = { refusal: refusal, upload: upload, show: show, megabytes: megabytes };
})();
