"""The API's documentation page at ``/docs``: Swagger UI over ``/openapi.json``, its files
served by this server (from the fastapi-offline package), so it works with no internet
and under the page's strict content policy (no inline script)."""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from rag.web.guards import error_response

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"

PAGE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} HTTP API</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{docs}/start.js"></script>
</body>
</html>
"""

# validatorUrl null: Swagger UI would otherwise send the document to a public validator
START = """\
window.ui = SwaggerUIBundle({
  url: "%s",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  deepLinking: true,
  validatorUrl: null,
  tryItOutEnabled: true,
});
"""


def swagger_ui_files() -> Traversable | None:
    """The folder of Swagger UI's script and style sheet, or None without fastapi-offline."""
    try:
        folder = resources.files("fastapi_offline") / "static"
    except ModuleNotFoundError:
        return None
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def add_docs(app: FastAPI) -> None:
    """``/docs`` on ``app``: the page, its start script and the Swagger UI files."""
    files = swagger_ui_files()
    router = APIRouter(include_in_schema=False)
    page = PAGE.format(title=app.title, assets=ASSETS_PATH, docs=DOCS_PATH)
    start = START % app.openapi_url

    @router.get(DOCS_PATH)
    def docs_page() -> Response:
        if files is None:
            return error_response(
                503,
                "the docs page needs fastapi-offline; install it with "
                "pip install 'rag-news[serve]' (the API's document is at /openapi.json)",
            )
        return HTMLResponse(page)

    @router.get(f"{DOCS_PATH}/start.js")
    def docs_start() -> Response:
        return Response(start, media_type="text/javascript; charset=utf-8")

    app.include_router(router)
    if files is not None:
        app.mount(ASSETS_PATH, StaticFiles(directory=str(files)), name="docs-assets")
