"""Making the OpenAPI document tell the truth about what the suite answers.

Litestar documents a route's success answer and its 400; it cannot know the
errors our dependencies raise (401 without a credential, 403 for a session
without its CSRF token or a role that is too small, 404 for a hotel the
caller is not a member of), nor that a pydantic model with ``extra="forbid"``
refuses unknown fields. :func:`complete_openapi` adds those to the generated
document, from facts about each route (which dependencies it takes, whether
it has a body, its path parameters) and a short table of the answers only
some routes give, so that a client generated from the document, and the
schemathesis run in the tests, see what the server really does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from pydantic import BaseModel

from begasist_suite.auth.principal import CSRF_HEADER, SESSION_COOKIE

__all__ = ["ERROR_SCHEMA", "complete_openapi", "served_document"]

ERROR_SCHEMA: Final = "Error"
"""The component every error answer refers to: ``{"status_code", "detail", ...}``."""

_REF_PREFIX: Final = "#/components/schemas/"
_REF_TEMPLATE: Final = _REF_PREFIX + "{model}"
_UNSAFE: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_DESCRIPTIONS: Final = {
    400: "The request is malformed: a parameter or the body does not validate.",
    401: "No credential, or one that is invalid or expired.",
    403: (
        "The credential is valid but may not do this: a browser session without its "
        "X-CSRF-Token on an unsafe method, or a role too small for the action."
    ),
    404: "No such object, or one in a hotel the caller is not a member of (the same answer).",
    409: "The object exists already, or changed and cannot change as asked.",
    413: "The body is larger than the suite accepts.",
    422: "The body is well-formed but its content is refused (see ``errors``).",
    429: "Too many attempts: wait for the seconds in Retry-After.",
    503: "A dependency (the store, Redis) is unavailable for a moment: retry.",
}

_EXTRA_ANSWERS: Final[dict[tuple[str, str], tuple[int, ...]]] = {
    # Answers only these routes give, beyond what their shape implies.
    ("POST", "/api/v1/auth/login"): (401, 429),
    ("PUT", "/api/v1/hotels/{hotel}/channels/{channel}"): (422,),
    ("PATCH", "/api/v1/hotels/{hotel}/channels/{channel}"): (422,),
    ("PUT", "/api/v1/channel-apps/{channel}"): (422,),
    ("POST", "/api/v1/hotels/{hotel}/conversations/{conversation_id}/messages"): (422,),
    ("PATCH", "/api/v1/hotels/{hotel}"): (422,),
    ("GET", "/api/v1/hotels/{hotel}/channels/{channel}"): (409,),
    ("GET", "/api/v1/hotels/{hotel}/bot/settings"): (409,),
    ("GET", "/api/v1/channel-apps/{channel}"): (409,),
}


@dataclass(frozen=True)
class _Facts:
    """What a route's signature says about the answers it can give."""

    method: str
    path: str
    authenticated: bool
    hotel_scoped: bool
    bot_route: bool
    path_parameters: bool
    has_body: bool
    has_parameters: bool
    idempotent: bool = False
    """Takes an ``Idempotency-Key``: a key reused with another body answers 422."""

    def error_codes(self) -> set[int]:
        codes: set[int] = set()
        if self.has_parameters or self.has_body:
            codes.add(400)
        if self.authenticated:
            codes |= {401, 403}
        if self.hotel_scoped or self.path_parameters:
            codes.add(404)
        if self.has_body:
            codes.add(413)
        if self.method in _UNSAFE and self.authenticated and self.method != "DELETE":
            codes.add(409)
        if self.idempotent:
            codes |= {400, 409, 422}
        codes.update(_EXTRA_ANSWERS.get((self.method, self.path), ()))
        return codes


def complete_openapi(app: Litestar) -> None:
    """Add the error answers, security schemes and true model schemas to *app*'s document.

    Call once, after the app is built and before the document is first served:
    Litestar builds the document lazily and caches it, and this changes the
    cached copy that ``/schema`` serves and ``begasist schema`` writes.
    """
    document = served_document(app)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    _optional_request_bodies(document)
    _use_pydantic_schemas(document, schemas)
    _no_null_parameters(document)
    schemas[ERROR_SCHEMA] = _error_schema()
    components["securitySchemes"] = {
        **components.get("securitySchemes", {}),
        **_security_schemes(),
    }
    for facts in _route_facts(app):
        operation = document.get("paths", {}).get(facts.path, {}).get(facts.method.lower())
        if operation is None:
            continue
        if _takes_idempotency_key(operation):
            facts = replace(facts, idempotent=True)
        _document_errors(operation, facts)
        operation["security"] = _security(facts)


def served_document(app: Litestar) -> dict[str, Any]:
    """The OpenAPI document as ``/schema/openapi.json`` serves it (built once, cached)."""
    return app.plugins.get(OpenAPIPlugin).provide_openapi_schema()


def _route_facts(app: Litestar) -> Iterator[_Facts]:
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not isinstance(handler, HTTPRouteHandler) or not handler.include_in_schema:
                continue
            yield from _facts(route, handler)


def _facts(route: HTTPRoute, handler: HTTPRouteHandler) -> Iterable[_Facts]:
    parameters = handler.parsed_fn_signature.parameters
    names = set(parameters)
    hotel_scoped = "access" in names
    authenticated = hotel_scoped or "principal" in names
    path_parameters = [name for name in route.path_parameters if name != "hotel"]
    query_or_path = {
        name for name in names if name not in {"access", "principal", "services", "data"}
    }
    for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
        yield _Facts(
            method=method,
            path=route.path_format,
            authenticated=authenticated,
            hotel_scoped=hotel_scoped,
            bot_route="/bot/" in route.path_format,
            path_parameters=bool(path_parameters),
            has_body="data" in names,
            has_parameters=bool(query_or_path),
        )


def _takes_idempotency_key(operation: dict[str, Any]) -> bool:
    return any(
        parameter.get("in") == "header" and parameter.get("name", "").lower() == "idempotency-key"
        for parameter in operation.get("parameters", [])
    )


def _document_errors(operation: dict[str, Any], facts: _Facts) -> None:
    responses = operation.setdefault("responses", {})
    for code, answer in responses.items():
        if code == "204":
            answer.pop("content", None)  # No Content has no body, and no Content-Type
    for code in sorted(facts.error_codes()):
        responses[str(code)] = _error_response(code)


def _error_response(code: int) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": _DESCRIPTIONS[code],
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}
        },
    }
    if code == 429:
        answer["headers"] = {
            "Retry-After": {
                "schema": {"type": "integer"},
                "description": "Seconds to wait before trying again.",
            }
        }
    return answer


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "title": ERROR_SCHEMA,
        "required": ["status_code", "detail"],
        "properties": {
            "status_code": {"type": "integer"},
            "detail": {"type": "string"},
            "extra": {"description": "Validation details, when the request did not validate."},
            "errors": {
                "type": "array",
                "description": "Field errors of refused settings (422).",
                "items": {"type": "object"},
            },
        },
    }


def _security_schemes() -> dict[str, Any]:
    return {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (or, on /bot/ routes, the hotel's bot token).",
        },
        "session": {
            "type": "apiKey",
            "in": "cookie",
            "name": SESSION_COOKIE,
            "description": "The browser session set by POST /api/v1/auth/login.",
        },
        "csrf": {
            "type": "apiKey",
            "in": "header",
            "name": "X-CSRF-Token",
            "description": (
                f"With a session, every unsafe method sends the session's CSRF token in "
                f"{CSRF_HEADER} (the login answer holds it)."
            ),
        },
    }


def _security(facts: _Facts) -> list[dict[str, list[str]]]:
    if not facts.authenticated:
        return []
    if facts.bot_route:
        return [{"bearer": []}]
    session: dict[str, list[str]] = {"session": []}
    if facts.method in _UNSAFE:
        session["csrf"] = []
    return [{"bearer": []}, session]


def _use_pydantic_schemas(document: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Replace Litestar's rendering of our pydantic models with pydantic's own.

    Litestar's drops constraints given through ``Field`` inside ``Annotated``
    (patterns, lengths), renders a dict with ``min_length`` as an array, and
    never says ``additionalProperties: false`` for ``extra="forbid"``; the
    models' own JSON Schema says what they accept. Models sent in request
    bodies are rendered as validated, the others as serialized.
    """
    models = _models_by_name()
    request_models = _request_body_models(document)
    for name in list(schemas):
        model = models.get(name)
        if model is None:
            continue
        mode: Literal["validation", "serialization"] = (
            "validation" if name in request_models else "serialization"
        )
        rendered = model.model_json_schema(ref_template=_REF_TEMPLATE, mode=mode)
        for nested_name, nested in rendered.pop("$defs", {}).items():
            schemas[nested_name] = _close_key_patterns(nested)
        schemas[name] = _close_key_patterns(rendered)


def _close_key_patterns(schema: Any) -> Any:
    """``additionalProperties: false`` beside every ``patternProperties`` pydantic writes.

    Pydantic renders ``dict[Annotated[str, pattern], V]`` as ``patternProperties``
    alone, which in JSON Schema still lets any other key through with any value;
    the model refuses such keys, so the document says so.
    """
    if isinstance(schema, dict):
        for value in schema.values():
            _close_key_patterns(value)
        if "patternProperties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        for value in schema:
            _close_key_patterns(value)
    return schema


def _no_null_parameters(document: dict[str, Any]) -> None:
    """An optional parameter is absent, never null: drop the ``null`` branch Litestar
    renders for ``X | None`` (a client would otherwise send an empty header or "null")."""
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                branches = schema.get("oneOf")
                if not isinstance(branches, list):
                    continue
                kept = [branch for branch in branches if branch != {"type": "null"}]
                if len(kept) == len(branches):
                    continue
                del schema["oneOf"]
                if len(kept) == 1:
                    schema.update(kept[0])
                else:
                    schema["oneOf"] = kept


def _optional_request_bodies(document: dict[str, Any]) -> None:
    """A body typed ``Model | None`` may be left out (approving a draft as it is): say
    it is not required and describe the model, not a JSON ``null``."""
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or "requestBody" not in operation:
                continue
            body = operation["requestBody"]
            for media in body.get("content", {}).values():
                branches = media.get("schema", {}).get("oneOf")
                if not isinstance(branches, list) or {"type": "null"} not in branches:
                    continue
                kept = [branch for branch in branches if branch != {"type": "null"}]
                media["schema"] = kept[0] if len(kept) == 1 else {"oneOf": kept}
                body["required"] = False


def _request_body_models(document: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for media in operation.get("requestBody", {}).get("content", {}).values():
                reference = media.get("schema", {}).get("$ref", "")
                if reference.startswith(_REF_PREFIX):
                    names.add(reference.removeprefix(_REF_PREFIX))
    return names


def _models_by_name() -> dict[str, type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    ambiguous: set[str] = set()
    pending: list[type[Any]] = [BaseModel]
    while pending:
        for model in pending.pop().__subclasses__():
            pending.append(model)
            if not model.__module__.startswith("begasist"):
                continue
            if model.__name__ in found and found[model.__name__] is not model:
                ambiguous.add(model.__name__)
            found[model.__name__] = model
    return {name: model for name, model in found.items() if name not in ambiguous}
