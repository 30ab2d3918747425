/* Begasist web chat: the pre-chat form (loaded by chat.html before chat.js, which uses
 * window.BegasistPrechat.ask to show it and learn the guest's name and email).
 *
 * The email is optional unless the hotel requires it. Its shape is checked here as
 * the suite checks it (webchat frames.clean_email: one plain address), so that the
 * guest hears of a typo at once; the suite refuses anything else with 4400 anyway.
 */
(function () {
  "use strict";

  var EMAIL = /^[A-Za-z0-9.!#$%&'*+\/=?^_`{|}~-]{1,64}@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;

  function emailProblem(value, required) {
    if (!value) {
      return required ? "emailMissing" : null;
    }
    return value.length <= 254 && EMAIL.test(value) && value.indexOf("..") < 0 ? null : "emailInvalid";
  }

  /* Show the form (with *problem*, a key of *words*, next to the email field) and call
   * done(name, email or null) once the guest has given what the hotel asks. */
  function ask(config, problem, words, done) {
    var form = document.getElementById("prechat");
    var required = Boolean(config.pre_chat_email_required);
    var email = document.getElementById("prechat-email");
    var error = document.getElementById("prechat-email-error");
    var label = document.getElementById("prechat-email-label");
    label.textContent = required ? words.email : words.emailOptional;
    email.required = required;
    function show(what) {
      error.textContent = what ? words[what] : "";
      error.hidden = !what;
      email.setAttribute("aria-invalid", what ? "true" : "false");
    }
    show(problem);
    form.hidden = false;
    form.onsubmit = function (event) {
      event.preventDefault();
      var name = document.getElementById("prechat-name").value.trim();
      var address = email.value.trim();
      var wrong = emailProblem(address, required);
      show(wrong);
      if (wrong) {
        email.focus();
        return;
      }
      if (!name) {
        return;
      }
      form.hidden = true;
      done(name, address || null);
    };
    if (problem) {
      email.focus();
    }
  }

  window.BegasistPrechat = { ask: ask };
})();
