// Starts Swagger UI on the suite's OpenAPI document. A file of its own, not an inline
// script: the page's Content-Security-Policy allows scripts from this origin only.
"use strict";

window.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // Swagger UI otherwise sends the document to validator.swagger.io for a badge.
    validatorUrl: null,
  });
});
