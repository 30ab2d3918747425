"""A stand-in for the Astra Data API, for the commands the Astra backend sends: not Astra.

It speaks the Data API's HTTP JSON protocol (``POST /api/json/v1/{keyspace}``
for ``createCollection`` and ``findCollections``, ``POST
/api/json/v1/{keyspace}/{collection}`` for ``insertOne``, ``findOne``,
``find``, ``findOneAndUpdate``, ``deleteMany`` and ``countDocuments``, a
``Token`` header) so astrapy's real client code runs end to end, and it keeps
the documents in memory. It models the Data API's rules that the store must
live with: only indexed fields can be filtered or sorted on (``_id`` by
equality and ``$in`` only unless indexed), a sorted ``find`` returns at most 20
documents and refuses more than 10,000 matches, ``deleteMany`` works 20
documents per call and truncates (count -1) on an empty filter,
``countDocuments`` stops at 1,000, ``$in`` takes at most 100 values, an indexed
string holds at most 8,000 bytes, two update operators cannot share a path.
Anything else (another command, operator, option or dotted path) is answered
with a Data API style error, so a backend relying on it fails loudly here.
Any keyspace name is accepted; a keyspace comes to exist with its first use.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final

import uvicorn

__all__ = ["DataAPIStandin", "running_data_api_standin"]

PAGE_SIZE: Final = 20
MAX_SORTED: Final = 10_000
MAX_COUNT: Final = 1000
MAX_IN: Final = 100
MAX_INDEXED_STRING_BYTES: Final = 8000
MAX_COLLECTIONS: Final = 10
_NAME: Final = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,47}$")
_PATH: Final = re.compile(r"^/api/json/v1/(?P<keyspace>[^/]+)(?:/(?P<collection>[^/]+))?/?$")
_RANGES: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
}
_UPDATES: Final = ("$setOnInsert", "$set", "$unset", "$inc", "$max")

Document = dict[str, Any]


class CommandError(Exception):
    """A command the Data API (or this stand-in) refuses, as an ``errors`` entry."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def as_error(self) -> dict[str, str]:
        return {"message": self.message, "errorCode": self.code}


def _unmodelled(what: str) -> CommandError:
    return CommandError("UNSUPPORTED_BY_STANDIN", f"the Data API stand-in does not model {what}")


class _Collection:
    def __init__(self, indexing: dict[str, list[str]]) -> None:
        self.indexing = indexing
        self.documents: dict[str, Document] = {}  # key: the _id as JSON

    def indexes(self, field: str) -> bool:
        if self.indexing.get("allow"):
            return field in self.indexing["allow"] or self.indexing["allow"] == ["*"]
        return field not in self.indexing.get("deny", []) and self.indexing.get("deny") != ["*"]


class DataAPIStandin:
    """The ASGI application: one in-memory database, every keyspace in it."""

    def __init__(self, token: str) -> None:
        self._token = token
        self._keyspaces: dict[str, dict[str, _Collection]] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, answer = self._answer(scope, body)
        payload = json.dumps(answer, separators=(",", ":")).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def _answer(self, scope: Mapping[str, Any], body: bytes) -> tuple[int, dict[str, Any]]:
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope["headers"]
        }
        if headers.get("token") != self._token:
            error = CommandError(
                "UNAUTHENTICATED_REQUEST", "Authentication failed for request due to invalid token"
            )
            return 401, {"errors": [error.as_error()]}
        route = _PATH.match(scope["path"])
        if scope["method"] != "POST" or route is None:
            return 404, {"errors": [{"message": "not a Data API path", "errorCode": "NOT_FOUND"}]}
        try:
            try:
                command = json.loads(body)
            except ValueError:
                raise CommandError("REQUEST_NOT_JSON", "the body is not JSON") from None
            if not isinstance(command, dict) or len(command) != 1:
                raise CommandError(
                    "REQUEST_STRUCTURE_MISMATCH", "a request holds exactly one command"
                )
            ((name, arguments),) = command.items()
            keyspace = self._keyspaces.setdefault(route["keyspace"], {})
            if route["collection"] is None:
                return 200, self._database_command(keyspace, name, arguments or {})
            if route["collection"] not in keyspace:
                raise CommandError(
                    "COLLECTION_NOT_EXIST",
                    f"No collection or table with name '{route['collection']}' exists.",
                )
            collection = keyspace[route["collection"]]
            return 200, _collection_command(collection, name, arguments or {})
        except CommandError as error:
            return 200, {"errors": [error.as_error()]}

    def _database_command(
        self, keyspace: dict[str, _Collection], name: str, arguments: Mapping[str, Any]
    ) -> dict[str, Any]:
        if name == "findCollections":
            if (arguments.get("options") or {}).get("explain"):
                described = [
                    {"name": collection_name, "options": _options(collection)}
                    for collection_name, collection in keyspace.items()
                ]
                return {"status": {"collections": described}}
            return {"status": {"collections": list(keyspace)}}
        if name != "createCollection":
            raise CommandError("COMMAND_UNKNOWN", f"no database command {name!r}")
        collection_name = arguments.get("name", "")
        options = dict(arguments.get("options") or {})
        indexing = options.pop("indexing", {})
        if options:
            raise _unmodelled(f"collection options {sorted(options)}")
        if not isinstance(collection_name, str) or not _NAME.match(collection_name):
            raise CommandError(
                "UNSUPPORTED_SCHEMA_NAME", f"bad collection name {collection_name!r}"
            )
        _check_indexing(indexing)
        if collection_name in keyspace:
            if keyspace[collection_name].indexing != indexing:
                raise CommandError(
                    "EXISTING_COLLECTION_DIFFERENT_SETTINGS",
                    f"collection {collection_name!r} exists with other settings",
                )
        elif len(keyspace) >= MAX_COLLECTIONS:
            raise CommandError("TOO_MANY_COLLECTIONS", f"at most {MAX_COLLECTIONS} collections")
        else:
            keyspace[collection_name] = _Collection(indexing)
        return {"status": {"ok": 1}}


def _options(collection: _Collection) -> dict[str, Any]:
    return {"indexing": collection.indexing} if collection.indexing else {}


def _check_indexing(indexing: object) -> None:
    if not isinstance(indexing, dict):
        raise CommandError("INVALID_INDEXING_DEFINITION", "indexing must be an object")
    if not indexing:
        return
    if len(indexing) != 1 or next(iter(indexing)) not in ("allow", "deny"):
        raise CommandError("INVALID_INDEXING_DEFINITION", "`allow` or `deny` should be provided")
    paths = next(iter(indexing.values()))
    if not isinstance(paths, list) or len(set(paths)) != len(paths):
        raise CommandError("INVALID_INDEXING_DEFINITION", "a list of distinct paths is needed")
    if any(not isinstance(path, str) or "." in path for path in paths):
        raise _unmodelled("nested indexing paths")


def _collection_command(
    collection: _Collection, name: str, arguments: Mapping[str, Any]
) -> dict[str, Any]:
    commands: dict[str, Callable[[_Collection, Mapping[str, Any]], dict[str, Any]]] = {
        "insertOne": _insert_one,
        "findOne": _find_one,
        "find": _find,
        "findOneAndUpdate": _find_one_and_update,
        "deleteMany": _delete_many,
        "countDocuments": _count_documents,
    }
    if name not in commands:
        raise CommandError("COMMAND_UNKNOWN", f"no collection command {name!r} in the stand-in")
    return commands[name](collection, arguments)


def _insert_one(collection: _Collection, arguments: Mapping[str, Any]) -> dict[str, Any]:
    document = arguments.get("document")
    if not isinstance(document, dict):
        raise CommandError("SHRED_BAD_DOCUMENT_TYPE", "insertOne needs a document object")
    document.setdefault("_id", str(uuid.uuid4()))
    _check_document(collection, document)
    key = _key(document["_id"])
    if key in collection.documents:
        error = CommandError(
            "DOCUMENT_ALREADY_EXISTS",
            f"Failed to insert document with _id {key}: Document already exists with the given _id",
        )
        return {"status": {"insertedIds": []}, "errors": [error.as_error()]}
    collection.documents[key] = document
    return {"status": {"insertedIds": [document["_id"]]}}


def _find_one(collection: _Collection, arguments: Mapping[str, Any]) -> dict[str, Any]:
    _only(arguments, "filter", "sort", "projection", "options")
    if arguments.get("options"):
        raise _unmodelled(f"findOne options {arguments['options']}")
    found = _select(collection, arguments.get("filter"), arguments.get("sort"), 0, 1)
    projected = [_project(document, arguments.get("projection")) for document in found]
    return {"data": {"document": projected[0] if projected else None}}


def _find(collection: _Collection, arguments: Mapping[str, Any]) -> dict[str, Any]:
    _only(arguments, "filter", "sort", "projection", "options")
    options = dict(arguments.get("options") or {})
    limit, skip, page_state = (
        options.pop("limit", None),
        options.pop("skip", 0),
        options.pop("pageState", None),
    )
    if options:
        raise _unmodelled(f"find options {sorted(options)}")
    if arguments.get("sort"):
        if page_state:
            raise CommandError(
                "SORT_CLAUSE_INVALID", "pageState is not supported with non-empty sort clause"
            )
        wanted = PAGE_SIZE if limit is None else min(limit, PAGE_SIZE)
        found = _select(collection, arguments.get("filter"), arguments["sort"], skip, wanted)
        next_state = None
    else:
        if skip:
            raise CommandError(
                "COMMAND_FIELD_VALUE_INVALID", "skip options should be used with sort clause"
            )
        found, next_state = _page(collection, arguments.get("filter"), limit, page_state)
    documents = [_project(document, arguments.get("projection")) for document in found]
    return {"data": {"documents": documents, "nextPageState": next_state}}


def _find_one_and_update(collection: _Collection, arguments: Mapping[str, Any]) -> dict[str, Any]:
    _only(arguments, "filter", "update", "options", "sort", "projection")
    options = dict(arguments.get("options") or {})
    return_after = options.pop("returnDocument", "before") == "after"
    upsert = bool(options.pop("upsert", False))
    if options:
        raise _unmodelled(f"findOneAndUpdate options {sorted(options)}")
    update = _check_update(arguments.get("update"))
    filter = arguments.get("filter") or {}
    found = _select(collection, filter, arguments.get("sort"), 0, 1)
    status: dict[str, Any] = {"matchedCount": len(found), "modifiedCount": 0}
    if found:
        before = found[0]
        after = _apply(before, update, inserting=False)
    elif upsert:
        before = None
        after = _apply(_seed(filter), update, inserting=True)
        after.setdefault("_id", str(uuid.uuid4()))
        if _key(after["_id"]) in collection.documents:
            # Astra's conditional write fails, the re-read under the filter finds nothing:
            # no document, no error, nothing written.
            return {"data": {"document": None}, "status": status}
        status["upsertedId"] = after["_id"]
    else:
        return {"data": {"document": None}, "status": status}
    _check_document(collection, after)
    if after != before:
        collection.documents[_key(after["_id"])] = after
        status["modifiedCount"] = 0 if before is None else 1
    returned = after if return_after else before
    document = None if returned is None else _project(returned, arguments.get("projection"))
    return {"data": {"document": document}, "status": status}


def _delete_many(collection: _Collection, arguments: Mapping[str, Any]) -> dict[str, Any]:
    _only(arguments, "filter")
    filter = arguments.get("filter") or {}
    if not filter:
        collection.documents.clear()
        return {"status": {"deletedCount": -1}}
    matching = _matching(collection, filter)
    for document in matching[:PAGE_SIZE]:
        del collection.documents[_key(document["_id"])]
    status: dict[str, Any] = {"deletedCount": min(len(matching), PAGE_SIZE)}
    if len(matching) > PAGE_SIZE:
        status["moreData"] = True
    return {"status": status}


def _count_documents(collection: _Collection, arguments: Mapping[str, Any]) -> dict[str, Any]:
    _only(arguments, "filter")
    count = len(_matching(collection, arguments.get("filter") or {}))
    if count > MAX_COUNT:
        return {"status": {"count": MAX_COUNT, "moreData": True}}
    return {"status": {"count": count}}


def _only(arguments: Mapping[str, Any], *allowed: str) -> None:
    extra = set(arguments) - set(allowed)
    if extra:
        raise _unmodelled(f"command arguments {sorted(extra)}")


def _key(document_id: object) -> str:
    if isinstance(document_id, dict | list) or document_id == "":
        raise CommandError("SHRED_BAD_DOCID_TYPE", f"bad _id {document_id!r}")
    return json.dumps(document_id, sort_keys=True)


def _check_document(collection: _Collection, document: Mapping[str, Any]) -> None:
    _key(document.get("_id"))
    for field, value in document.items():
        if field.startswith("$"):
            raise _unmodelled(f"special fields such as {field!r}")
        _check_names(value)
        if field != "_id" and collection.indexes(field):
            _check_indexed_strings(field, value)


def _check_names(value: object) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key.startswith("$"):
                raise _unmodelled(f"extended JSON values such as {key!r}")
            _check_names(item)
    elif isinstance(value, list):
        for item in value:
            _check_names(item)


def _check_indexed_strings(field: str, value: object) -> None:
    if isinstance(value, str) and len(value.encode()) > MAX_INDEXED_STRING_BYTES:
        raise CommandError(
            "SHRED_DOC_LIMIT_VIOLATION",
            f"indexed string {field!r} exceeds {MAX_INDEXED_STRING_BYTES} bytes",
        )
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    )
    for child in children:
        _check_indexed_strings(field, child)


# Filters -------------------------------------------------------------------------------------

Condition = tuple[str, str, Any]  # (field, operator, operand)


def _conditions(collection: _Collection, filter: object) -> list[Condition]:
    if not isinstance(filter, dict):
        raise CommandError("FILTER_INVALID_EXPRESSION", "a filter is an object")
    conditions: list[Condition] = []
    for field, condition in filter.items():
        if field.startswith("$") or "." in field:
            raise _unmodelled(f"filter {field!r} (logical operators, dotted paths)")
        if isinstance(condition, dict) and condition and all(k.startswith("$") for k in condition):
            operators = list(condition.items())
        else:
            operators = [("$eq", condition)]
        for operator, operand in operators:
            if operator not in ("$eq", "$ne", "$in", "$nin", "$all", *_RANGES):
                raise CommandError(
                    "FILTER_UNSUPPORTED_OPERATOR",
                    f"filter operator {operator!r} (the stand-in models $eq $ne $in $nin $all $lt "
                    "$lte $gt $gte)",
                )
            if operator == "$all" and (not isinstance(operand, list) or not operand):
                raise CommandError("FILTER_INVALID_EXPRESSION", "$all takes a non-empty array")
            _check_filter_path(collection, field, operator)
            if operator in ("$in", "$nin") and (
                not isinstance(operand, list) or len(operand) > MAX_IN
            ):
                raise CommandError(
                    "FILTER_INVALID_EXPRESSION",
                    f"{operator} operator must have at most {MAX_IN} values",
                )
            if operator in _RANGES and not (_is_number(operand) or isinstance(operand, str)):
                raise CommandError("FILTER_INVALID_EXPRESSION", f"{operator} needs a number/string")
            conditions.append((field, operator, operand))
    return conditions


def _check_filter_path(collection: _Collection, field: str, operator: str) -> None:
    if collection.indexes(field):
        return
    if field == "_id":
        if operator in ("$eq", "$in"):
            return
        raise CommandError(
            "FILTER_ID_NOT_INDEXED",
            f"'_id' can only be filtered with '$eq' or '$in', not {operator}",
        )
    raise CommandError(
        "FILTER_PATH_UNINDEXED", f"Collection path '{field}' is not indexed: cannot filter on it"
    )


def _matches(document: Mapping[str, Any], conditions: list[Condition]) -> bool:
    return all(_holds(document, condition) for condition in conditions)


def _holds(document: Mapping[str, Any], condition: Condition) -> bool:
    field, operator, operand = condition
    if operator == "$ne":
        return not _holds(document, (field, "$eq", operand))
    if operator == "$in":
        return any(_holds(document, (field, "$eq", value)) for value in operand)
    if operator == "$nin":
        # Missing and null fields are in no list (as the Data API's $nin).
        return not any(_holds(document, (field, "$eq", value)) for value in operand)
    if operator == "$all":
        # An array holding every value (as the Data API's $all on arrays).
        value = document.get(field)
        return isinstance(value, list) and all(
            any(_same(item, wanted) for item in value) for wanted in operand
        )
    if field not in document:
        return False
    value = document[field]
    if operator == "$eq":
        if operand is None:
            return value is None  # only an explicit null matches null
        if isinstance(value, list) and not isinstance(operand, list):
            return any(_same(item, operand) for item in value)  # arrays match an element
        return _same(value, operand)
    same_kind = (_is_number(value) and _is_number(operand)) or (
        isinstance(value, str) and isinstance(operand, str)
    )
    return same_kind and _RANGES[operator](value, operand)


def _same(a: object, b: object) -> bool:
    if _is_number(a) and _is_number(b):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _matching(collection: _Collection, filter: object) -> list[Document]:
    conditions = _conditions(collection, filter)
    return [
        document
        for _, document in sorted(collection.documents.items())
        if _matches(document, conditions)
    ]


def _select(
    collection: _Collection, filter: object, sort: object, skip: int, limit: int
) -> list[Document]:
    """Up to *limit* matches after *skip*, sorted in memory as the Data API does."""
    matching = _matching(collection, filter or {})
    if sort:
        if not isinstance(sort, dict) or len(sort) != 1:
            raise _unmodelled(f"sort {sort!r} (one field only)")
        ((field, direction),) = sort.items()
        if direction not in (1, -1) or field.startswith("$") or "." in field:
            raise _unmodelled(f"sort {sort!r}")
        if not collection.indexes(field):
            raise CommandError(
                "SORT_CLAUSE_PATH_UNINDEXED", f"Collection field '{field}' is not indexed: no sort"
            )
        if len(matching) > MAX_SORTED:
            raise CommandError(
                "OVERLOADED_SORT_ROW_LIMIT", f"in-memory sorting is limited to {MAX_SORTED} rows"
            )
        matching.sort(key=lambda document: _order(document.get(field, _MISSING)))
        if direction == -1:
            matching.reverse()
    return matching[skip : skip + limit]


def _page(
    collection: _Collection, filter: object, limit: int | None, page_state: str | None
) -> tuple[list[Document], str | None]:
    """One page of an unsorted find, in key order; the page state carries the limit left."""
    after, left = "", limit
    if page_state:
        after, left = json.loads(base64.b64decode(page_state))
    matching = [
        document
        for document in _matching(collection, filter or {})
        if _key(document["_id"]) > after
    ]
    size = PAGE_SIZE if left is None else min(PAGE_SIZE, left)
    page = matching[:size]
    left = None if left is None else left - len(page)
    if len(matching) <= size or left == 0:
        return page, None
    next_state = json.dumps([_key(page[-1]["_id"]), left])
    return page, base64.b64encode(next_state.encode()).decode()


class _Missing:
    pass


_MISSING: Final = _Missing()


def _order(value: object) -> tuple[Any, ...]:
    """The Data API's order: missing < null < numbers < strings < objects < arrays < booleans."""
    if value is _MISSING:
        return (0,)
    if value is None:
        return (1,)
    if _is_number(value):
        return (2, value)
    if isinstance(value, str):
        return (3, value.encode("utf-16-be"))  # Java compares UTF-16 code units
    if isinstance(value, dict):
        return (4, tuple((key.encode("utf-16-be"), _order(item)) for key, item in value.items()))
    if isinstance(value, list):
        return (5, tuple(_order(item) for item in value))
    return (6, value)


def _project(document: Document, projection: object) -> Document:
    if not projection:
        return document
    if not isinstance(projection, dict) or not all(
        flag in (1, True) for flag in projection.values()
    ):
        raise _unmodelled(f"projection {projection!r} (inclusions only)")
    kept = set(projection) | {"_id"}
    return {field: value for field, value in document.items() if field in kept}


# Updates -------------------------------------------------------------------------------------


def _check_update(update: object) -> dict[str, dict[str, Any]]:
    if not isinstance(update, dict) or not update:
        raise CommandError("MISSING_UPDATE_OPERATIONS", "findOneAndUpdate needs an update")
    touched: dict[str, str] = {}
    for operator, fields in update.items():
        if operator not in _UPDATES:
            raise CommandError(
                "UNSUPPORTED_UPDATE_OPERATION",
                f"update operator {operator!r} (the stand-in models {' '.join(_UPDATES)})",
            )
        if not isinstance(fields, dict):
            raise CommandError("UNSUPPORTED_UPDATE_OPERATION_PARAM", f"{operator} takes an object")
        for field, value in fields.items():
            if field.startswith("$") or "." in field:
                raise _unmodelled(f"update path {field!r}")
            if field == "_id" and operator != "$setOnInsert":
                raise CommandError(
                    "UNSUPPORTED_UPDATE_OPERATOR_FOR_DOC_ID", f"{operator} cannot change _id"
                )
            if field in touched:
                raise CommandError(
                    "UNSUPPORTED_UPDATE_OPERATION_PARAM",
                    f"update operators '{touched[field]}' and '{operator}' must not refer to "
                    f"same path: '{field}'",
                )
            touched[field] = operator
            if operator == "$inc" and not _is_number(value):
                raise CommandError("UNSUPPORTED_UPDATE_OPERATION_PARAM", "$inc takes numbers")
    return update


def _seed(filter: Mapping[str, Any]) -> Document:
    """The equality fields of *filter*, which an upsert's new document starts from."""
    seed: Document = {}
    for field, condition in filter.items():
        if isinstance(condition, dict) and condition and all(k.startswith("$") for k in condition):
            if "$eq" in condition:
                seed[field] = copy.deepcopy(condition["$eq"])
        else:
            seed[field] = copy.deepcopy(condition)
    return seed


def _apply(
    document: Document, update: Mapping[str, Mapping[str, Any]], *, inserting: bool
) -> Document:
    result = copy.deepcopy(document)
    for operator in _UPDATES:
        for field, value in update.get(operator, {}).items():
            if operator == "$setOnInsert":
                if inserting:
                    result[field] = copy.deepcopy(value)
            elif operator == "$set":
                result[field] = copy.deepcopy(value)
            elif operator == "$unset":
                result.pop(field, None)
            elif operator == "$inc":
                current = result.get(field, 0)
                if not _is_number(current):
                    raise CommandError(
                        "UNSUPPORTED_UPDATE_OPERATION_TARGET", f"$inc on non-number {field!r}"
                    )
                result[field] = current + value
            elif field not in result or _order(value) > _order(result[field]):
                result[field] = copy.deepcopy(value)  # $max
    return result


# Serving -------------------------------------------------------------------------------------


@contextmanager
def running_data_api_standin(token: str) -> Iterator[str]:
    """Serve a fresh stand-in on a free port of 127.0.0.1; yield its API endpoint.

    The server runs in a background thread and is stopped (the thread joined)
    on exit. Requests must carry ``Token: <token>``; others get HTTP 401.
    """
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so,
    # and without it every response waits out a delayed ACK (40 ms).
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        DataAPIStandin(token),
        lifespan="off",
        loop="asyncio",
        http="h11",
        ws="none",
        log_config=None,
        log_level="warning",
        access_log=False,
        # Astra's front ends keep idle connections open far longer than a client's pool
        # (httpx: 5 s). At uvicorn's default of 5 s as well, the server could close a
        # connection just as the client reused it: a ReadError no real Astra gives.
        timeout_keep_alive=75,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="data-api-standin", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Data API stand-in did not start")
            time.sleep(0.005)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
