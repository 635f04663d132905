// Renders the app's OpenAPI document with Swagger UI (swagger-ui-bundle.js, served beside this
// file from the pinned swagger-ui-bundle-v2 package, so the page works offline).
// The document sits beside the page under the route prefix: /api/docs -> /api/openapi.json,
// also when the page is opened as /api/docs/ or /api/docs/index.html.
"use strict";

function besideThePage(name) {
  const prefix = window.location.pathname.replace(/\/docs(\/.*)?$/, "");
  return `${prefix}/${name}`;
}

window.addEventListener("load", () => {
  for (const [id, name] of [["openapi-link", "openapi.json"], ["asyncapi-link", "asyncapi.json"]]) {
    document.getElementById(id).href = besideThePage(name);
  }
  window.ui = window.SwaggerUIBundle({
    url: besideThePage("openapi.json"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    defaultModelsExpandDepth: 0,
    displayRequestDuration: true,
  });
});
