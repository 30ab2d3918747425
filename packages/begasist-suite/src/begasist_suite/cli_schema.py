"""``begasist schema``: the suite's OpenAPI document beside core's event schemas, and drift."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

from begasist_core import PluginManager
from begasist_core.schema import check_schema_documents, render_document, write_schema_documents
from litestar.serialization import encode_json
from pydantic import SecretStr

__all__ = ["OPENAPI_NAME", "check_suite_schema", "openapi_text", "write_suite_schema"]

OPENAPI_NAME: Final = "suite/openapi.json"
"""Under the output directory; in a folder of its own, because core's writer removes
any document it does not generate from the folders it writes."""

_PLACEHOLDER_KEY: Final = "schema-generation-only-" + "x" * 32
# Never contacted: redis-py connects lazily and the app opens Redis and the store in its
# lifespan, which schema generation never runs.
_PLACEHOLDER_REDIS: Final = "redis://127.0.0.1:1/0"


def openapi_text() -> str:
    """The suite's OpenAPI document, in core's text form; the same for every installation."""
    from begasist_suite.app import create_app
    from begasist_suite.config import SuiteSettings
    from begasist_suite.responders import plugin as responder_plugin

    # No entry points: the document must not depend on which channel plugins are installed.
    plugins = PluginManager(load=frozenset())
    plugins.register_plugin(responder_plugin, name=responder_plugin.PLUGIN_NAME)
    settings = SuiteSettings(secret_key=SecretStr(_PLACEHOLDER_KEY), redis_url=_PLACEHOLDER_REDIS)
    app = create_app(settings, plugins=plugins)
    # Through Litestar's encoder, as /schema/openapi.json serves it (it holds frozensets...).
    from begasist_suite.api.openapi import served_document

    return render_document(json.loads(encode_json(served_document(app))))


def write_suite_schema(out_dir: Path) -> list[Path]:
    """Write core's documents and the OpenAPI document under *out_dir*; return what changed."""
    written = write_schema_documents(out_dir)
    path = out_dir / OPENAPI_NAME
    text = openapi_text()
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


def check_suite_schema(out_dir: Path) -> list[str]:
    """Documents under *out_dir* that are missing, different or stale; empty when all match."""
    drifted = check_schema_documents(out_dir)
    path = out_dir / OPENAPI_NAME
    if not path.is_file() or path.read_text(encoding="utf-8") != openapi_text():
        drifted.append(OPENAPI_NAME)
    return sorted(drifted)
