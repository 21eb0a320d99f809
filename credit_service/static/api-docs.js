// Starts Swagger UI on /api/docs (credit_service/api/reference.py). A file, not an inline script, so
// that the page's Content-Security-Policy allows scripts from this service only.
window.addEventListener("load", function () {
  var node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: node.getAttribute("data-spec-url"),
    domNode: node,
    deepLinking: true,
    validatorUrl: null,            // the default would send the document to an outside validator
    persistAuthorization: false,
    tryItOutEnabled: false,
    defaultModelsExpandDepth: 0,
    docExpansion: "list"
  });
});
