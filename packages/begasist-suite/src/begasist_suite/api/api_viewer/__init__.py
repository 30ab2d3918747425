"""Swagger UI for the API at ``/schema``, served by the suite itself: nothing from a CDN.

Swagger UI's files come from the pinned PyPI package ``swagger-ui-bundle-v2``
(Swagger UI 5, which reads OpenAPI 3.1; byte for byte npm's
``swagger-ui-dist`` of the same version), installed with the suite and never
copied into this repository. The page holds no inline script or style: our
own ``init.js`` starts Swagger UI, and every answer under ``/schema`` carries
:data:`VIEWER_HEADERS`, a Content-Security-Policy that allows only this origin.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

from litestar import Request, Router, get
from litestar.exceptions import NotFoundException
from litestar.middleware.base import DefineMiddleware
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.params import FromPath
from litestar.response import File

from begasist_suite.web.security import SecurityHeadersMiddleware

__all__ = [
    "ASSETS_PATH",
    "SWAGGER_UI_VERSION",
    "VIEWER_CSP",
    "VIEWER_HEADERS",
    "LocalSwaggerUI",
    "swagger_ui_directory",
    "viewer_router",
]

SWAGGER_UI_VERSION: Final = "5.31.0"
"""The Swagger UI release inside the pinned ``swagger-ui-bundle-v2`` (begasist-suite's
dependencies say which); a new pin changes this too, and the tests notice a mismatch."""
ASSETS_PATH: Final = "/swagger-ui"
"""Under the OpenAPI router's path: ``/schema/swagger-ui/{file}``."""
VIEWER_CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'; object-src 'none'"
)
"""The web app's policy (no inline script or style, nothing from another host), plus fonts
as data URLs; Swagger UI's icons are data URLs in its stylesheet."""
VIEWER_HEADERS: Final = {
    "content-security-policy": VIEWER_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}
"""Set on every answer under ``/schema``: the viewer, its files and the document."""

_OUR_FILES: Final = Path(__file__).parent
_SERVED: Final = {
    "swagger-ui-bundle.js": ("package", "text/javascript; charset=utf-8"),
    "swagger-ui.css": ("package", "text/css; charset=utf-8"),
    "init.js": ("ours", "text/javascript; charset=utf-8"),
}
"""The only files answered under :data:`ASSETS_PATH`: what the page loads, no more."""


def swagger_ui_directory() -> Path:
    """Where the installed package keeps Swagger UI's files; raises if it is missing."""
    # An installed wheel is a directory on disk (no zip import): its files are plain paths.
    package = Path(str(files("swagger_ui_bundle")))
    directory = package / "vendor" / f"swagger-ui-{SWAGGER_UI_VERSION}"
    if not (directory / "swagger-ui-bundle.js").is_file():
        raise FileNotFoundError(
            f"Swagger UI {SWAGGER_UI_VERSION} is not in the installed swagger-ui-bundle-v2"
        )
    return directory


_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="{assets}/swagger-ui.css">
  <script src="{assets}/swagger-ui-bundle.js" defer></script>
  <script src="{assets}/init.js" defer></script>
</head>
<body>
  <div id="swagger-ui" data-openapi-url="{document}"></div>
</body>
</html>
"""


class LocalSwaggerUI(OpenAPIRenderPlugin):
    """Litestar's OpenAPI render plugin for Swagger UI, with the files served here."""

    def __init__(self, *, path: str | Sequence[str] = "/swagger") -> None:
        super().__init__(path=path)
        self._directory = swagger_ui_directory()

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        root = request.app.openapi_config.path if request.app.openapi_config else "/schema"
        return _PAGE.format(
            title=escape(str(openapi_schema.get("info", {}).get("title", "API"))),
            assets=escape(f"{root}{ASSETS_PATH}"),
            document=escape(self.get_openapi_json_route(request)),
        ).encode("utf-8")

    def receive_router(self, router: Router) -> None:
        directory = self._directory

        @get(f"{ASSETS_PATH}/{{name:str}}", include_in_schema=False, sync_to_thread=False)
        def swagger_ui_file(name: FromPath[str]) -> File:
            """One of Swagger UI's files, or our script that starts it; 404 for anything else."""
            if name not in _SERVED:
                raise NotFoundException("not found")
            origin, media_type = _SERVED[name]
            folder = directory if origin == "package" else _OUR_FILES
            return File(
                folder / name,
                media_type=media_type,
                content_disposition_type="inline",
                headers={"cache-control": "no-cache"},
            )

        router.register(swagger_ui_file)


def viewer_router(path: str) -> Router:
    """The router Litestar serves the OpenAPI document and the viewer from, with
    :data:`VIEWER_HEADERS` on every answer."""
    return Router(
        path,
        route_handlers=[],
        include_in_schema=False,
        middleware=[DefineMiddleware(SecurityHeadersMiddleware, headers=VIEWER_HEADERS)],
    )
