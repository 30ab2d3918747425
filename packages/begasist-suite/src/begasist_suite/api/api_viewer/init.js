// Starts Swagger UI on the suite's OpenAPI document. A file of its own, not an inline
// script: the page's Content-Security-Policy allows scripts from this origin only.
"use strict";

// "Try it out" with the browser's session: the API wants the session's CSRF token in
// X-CSRF-Token on every change (a bearer token entered in "Authorize" needs none).
// Asked for at the first change, not on load: a visitor who is not signed in reads the
// documentation without a request that can only fail.
let csrfToken = null;

async function sessionCsrfToken() {
  if (csrfToken === null) {
    try {
      const answer = await fetch("/api/v1/me", {
        credentials: "same-origin",
        headers: { accept: "application/json" },
      });
      csrfToken = answer.ok ? (await answer.json()).csrf_token || null : null;
    } catch (error) {
      csrfToken = null;
    }
  }
  return csrfToken;
}

async function withCsrfToken(request) {
  const method = (request.method || "GET").toUpperCase();
  const sameOrigin = new URL(request.url, window.location.href).origin === window.location.origin;
  const bearer = Object.keys(request.headers || {}).some((name) => name.toLowerCase() === "authorization");
  if (sameOrigin && !bearer && !["GET", "HEAD", "OPTIONS"].includes(method)) {
    const token = await sessionCsrfToken();
    if (token) {
      request.headers["X-CSRF-Token"] = token;
    }
  }
  return request;
}

window.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    requestInterceptor: withCsrfToken,
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // Swagger UI otherwise sends the document to validator.swagger.io for a badge.
    validatorUrl: null,
  });
});
