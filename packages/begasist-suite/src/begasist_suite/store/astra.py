"""The Astra DB backend of the document layer, through astrapy's async Data API client.

Filters and updates go to the Data API unchanged. What the Data API does
differently from the document layer's contract is bridged here, so that the
conformance suite holds on both backends:

- a sorted ``find`` returns at most 20 documents and no page state, so longer
  sorted reads are fetched 20 at a time with ``skip`` (each page re-sorts the
  matches on the server, which refuses to sort more than 10,000 of them);
- ``deleteMany`` with an empty filter truncates and reports no count, so
  deleting everything goes by ``_id`` in batches;
- ``countDocuments`` stops at 1,000: :meth:`AstraCollection.count` raises
  :class:`CountLimitExceeded` beyond that;
- an upsert whose ``_id`` belongs to a document the filter does not match
  writes nothing and answers no document: that is :class:`DuplicateDocument`;
- the Data API accepts only what it has indexed, and indexes exactly the fields
  of :data:`~begasist_suite.store.documents.COLLECTIONS`; queries are checked
  here first so a mistake fails the same way on both backends (``_id`` is
  reachable by equality and ``$in`` only, as on Astra).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, Final

from astrapy import AsyncCollection, DataAPIClient
from astrapy.api_options import APIOptions, SerdesOptions
from astrapy.constants import ReturnDocument
from astrapy.exceptions import DataAPIResponseException, TooManyDocumentsToCountException
from astrapy.info import CollectionDefinition

from begasist_suite.store.documents import (
    COLLECTIONS,
    CountLimitExceeded,
    DuplicateDocument,
    Filter,
    Sort,
    Update,
)
from begasist_suite.store.updates import UnsupportedQuery

__all__ = ["COUNT_LIMIT", "AstraCollection", "AstraDatabase", "CountLimitExceeded"]

COUNT_LIMIT: Final = 1000
"""The Data API counts up to this many documents and no further."""

_SORTED_PAGE: Final = 20  # documents a sorted find returns, whatever its limit
_IN_LIMIT: Final = 100  # values the Data API takes in one $in
_COMPARISONS: Final = frozenset({"$ne", "$lt", "$lte", "$gt", "$gte"})
_UPDATES: Final = frozenset({"$set", "$unset", "$inc", "$max", "$setOnInsert"})
_ENVIRONMENT: Final = ("ASTRA_DB_API_ENDPOINT", "ASTRA_DB_APPLICATION_TOKEN", "ASTRA_DB_KEYSPACE")

# Reads return plain JSON: no DataAPITimestamp/DataAPIVector wrappers, no Decimal
# numbers. Strings and ints are never converted either way; the only values
# astrapy rewrites are {"$date"|"$uuid"|"$objectId"|"$binary": ...} objects,
# which _check_plain refuses on the way in.
_SERDES: Final = SerdesOptions(
    custom_datatypes_in_reading=False,
    use_decimals_in_collections=False,
    binary_encode_vectors=False,
    unroll_iterables_to_lists=False,
    accept_naive_datetimes=False,
)


class AstraDatabase:
    """The store's collections in one keyspace of an Astra database.

    Collection ``name`` is stored as ``collection_prefix + name``. The token is
    handed to astrapy and kept nowhere else; it is not part of any repr.
    """

    def __init__(
        self,
        api_endpoint: str,
        token: str,
        *,
        keyspace: str = "default_keyspace",
        collection_prefix: str = "",
    ) -> None:
        self.api_endpoint = api_endpoint
        self.keyspace = keyspace
        self.collection_prefix = collection_prefix
        client = DataAPIClient(api_options=APIOptions(serdes_options=_SERDES))
        self._database = client.get_async_database(api_endpoint, token=token, keyspace=keyspace)
        # Every astrapy database and collection owns an HTTP client: all are closed in aclose.
        self._closing = AsyncExitStack()
        self._closing.push_async_exit(self._database)
        self._collections: dict[str, AstraCollection] = {}

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] = os.environ, *, collection_prefix: str = ""
    ) -> AstraDatabase | None:
        """The database named by ``ASTRA_DB_API_ENDPOINT`` and ``ASTRA_DB_APPLICATION_TOKEN``.

        ``ASTRA_DB_KEYSPACE`` chooses the keyspace (default ``default_keyspace``).
        None when the endpoint or the token is unset.
        """
        endpoint, token, keyspace = (environ.get(name, "") for name in _ENVIRONMENT)
        if not endpoint or not token:
            return None
        return cls(
            endpoint,
            token,
            keyspace=keyspace or "default_keyspace",
            collection_prefix=collection_prefix,
        )

    def __repr__(self) -> str:
        return (
            f"AstraDatabase(api_endpoint={self.api_endpoint!r}, keyspace={self.keyspace!r}, "
            f"collection_prefix={self.collection_prefix!r})"
        )

    def collection(self, name: str) -> AstraCollection:
        """The collection *name*, one of :data:`~begasist_suite.store.documents.COLLECTIONS`."""
        if name not in COLLECTIONS:
            raise KeyError(f"no collection {name!r}")
        if name not in self._collections:
            stored = self._database.get_collection(self.collection_prefix + name)
            self._closing.push_async_exit(stored)
            self._collections[name] = AstraCollection(stored, name)
        return self._collections[name]

    async def migrate(self) -> None:
        """Create the missing collections, each indexing exactly its declared fields.

        Astra cannot change a collection's indexing: a collection that exists
        with other indexing is an error to resolve by hand (copy, drop, create).
        """
        existing = {
            descriptor.name: descriptor.definition.indexing
            for descriptor in await self._database.list_collections()
        }
        for name, fields in COLLECTIONS.items():
            stored_name = self.collection_prefix + name
            wanted = _indexing(fields)
            if stored_name not in existing:
                created = await self._database.create_collection(
                    stored_name, definition=CollectionDefinition(indexing=wanted)
                )
                self._closing.push_async_exit(created)
            elif _normal(existing[stored_name]) != _normal(wanted):
                raise RuntimeError(
                    f"Astra collection {stored_name!r} indexes {existing[stored_name]}, "
                    f"the store needs {wanted}: migrate it by hand (docs/suite.md, "
                    '"Upgrading an Astra database")'
                )

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[None]:
        """The Data API has no multi-document transactions: each write is durable alone."""
        yield

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Nothing to undo: see :meth:`unit_of_work`."""
        yield

    def after_commit(self, action: Callable[[], None]) -> None:
        """Every write is durable when it returns: run *action* now."""
        action()

    async def aclose(self) -> None:
        """Close every HTTP client astrapy opened for this database."""
        self._collections.clear()
        await self._closing.aclose()


class AstraCollection:
    """One Data API collection; see :class:`~begasist_suite.store.documents.Collection`."""

    def __init__(self, stored: AsyncCollection[dict[str, Any]], name: str) -> None:
        self._stored = stored
        self._name = name
        self._indexed = frozenset(COLLECTIONS[name])

    def __repr__(self) -> str:
        return f"AstraCollection({self._stored.name!r})"

    async def insert(self, document: Mapping[str, Any]) -> None:
        if "_id" not in document:
            raise UnsupportedQuery("a document needs an _id")
        _check_plain(document)
        try:
            await self._stored.insert_one(dict(document))
        except DataAPIResponseException as error:
            # insertOne answers HTTP 200 with this error code when the _id is taken.
            codes = {descriptor.error_code for descriptor in error.error_descriptors}
            if "DOCUMENT_ALREADY_EXISTS" in codes:
                raise DuplicateDocument(f"{self._name}: _id {document['_id']!r} exists") from None
            raise

    async def find_one(self, filter: Filter) -> dict[str, Any] | None:
        if not self._check_filter(filter):
            return None
        found = await self._stored.find_one(dict(filter))
        return None if found is None else dict(found)

    async def find(
        self, filter: Filter, *, sort: Sort | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        if not self._check_filter(filter) or limit == 0:
            return []
        if sort is None:
            return [dict(found) async for found in self._stored.find(dict(filter), limit=limit)]
        field, direction = sort
        if field not in self._indexed or direction not in (1, -1):
            raise UnsupportedQuery(f"{self._name}: cannot sort on {field!r} ({direction})")
        documents: list[dict[str, Any]] = []
        while limit is None or len(documents) < limit:
            wanted = _SORTED_PAGE if limit is None else min(_SORTED_PAGE, limit - len(documents))
            cursor = self._stored.find(
                dict(filter), sort={field: direction}, skip=len(documents), limit=wanted
            )
            page = [dict(found) async for found in cursor]
            documents.extend(page)
            if len(page) < wanted:
                break
        return documents

    async def update_one(
        self, filter: Filter, update: Update, *, upsert: bool = False
    ) -> dict[str, Any] | None:
        if not self._check_filter(filter) and not upsert:
            return None
        _check_update(update)
        after = await self._stored.find_one_and_update(
            dict(filter),
            {operator: dict(fields) for operator, fields in update.items()},
            return_document=ReturnDocument.AFTER,
            upsert=upsert,
        )
        if after is None and upsert:
            # The Data API's upsert writes only where its _id is free, and answers
            # "nothing" when a document the filter does not match holds that _id.
            raise DuplicateDocument(f"{self._name}: an upsert's _id is taken ({sorted(filter)})")
        return None if after is None else dict(after)

    async def delete_many(self, filter: Filter) -> int:
        if not self._check_filter(filter):
            return 0
        if filter:
            return (await self._stored.delete_many(dict(filter))).deleted_count
        deleted, previous = 0, None
        while True:
            cursor = self._stored.find({}, projection={"_id": True}, limit=_IN_LIMIT)
            batch = [found["_id"] async for found in cursor]
            if not batch:
                return deleted
            if batch == previous:
                raise RuntimeError(f"{self._name}: {len(batch)} documents resist deletion")
            deleted += (await self._stored.delete_many({"_id": {"$in": batch}})).deleted_count
            previous = batch

    async def count(self, filter: Filter) -> int:
        if not self._check_filter(filter):
            return 0
        try:
            return await self._stored.count_documents(dict(filter), upper_bound=COUNT_LIMIT)
        except TooManyDocumentsToCountException:
            raise CountLimitExceeded(
                f"{self._name}: more than {COUNT_LIMIT} documents match a filter on "
                f"{sorted(filter)}, more than Astra counts",
                limit=COUNT_LIMIT,
            ) from None

    def _check_filter(self, filter: Filter) -> bool:
        """Refuse what Astra would refuse; False when the filter can match nothing."""
        can_match = True
        for field, condition in filter.items():
            if field != "_id" and field not in self._indexed:
                raise UnsupportedQuery(f"{self._name}: {field!r} is not an indexed field")
            if not isinstance(condition, Mapping):
                _check_scalars([condition])
                continue
            for operator, operand in condition.items():
                if operator == "$all" and field != "_id":
                    if not isinstance(operand, list | tuple) or not operand:
                        raise UnsupportedQuery("$all takes a list of at least one value")
                    _check_scalars(operand)
                elif operator == "$in":
                    if not isinstance(operand, list | tuple) or len(operand) > _IN_LIMIT:
                        raise UnsupportedQuery(f"$in takes a list of at most {_IN_LIMIT} values")
                    _check_scalars(operand)
                    can_match = can_match and bool(operand)
                elif operator == "$nin" and field != "_id":
                    if not isinstance(operand, list | tuple) or not 0 < len(operand) <= _IN_LIMIT:
                        raise UnsupportedQuery(f"$nin takes a list of 1 to {_IN_LIMIT} values")
                    _check_scalars(operand)
                elif operator in _COMPARISONS and field != "_id":
                    _check_scalars([operand])
                else:
                    # Astra reaches an unindexed _id by equality and $in only.
                    raise UnsupportedQuery(f"{self._name}: unsupported filter {field} {operator}")
        return can_match


def _check_scalars(values: Iterable[object]) -> None:
    if not all(value is None or isinstance(value, bool | int | float | str) for value in values):
        raise UnsupportedQuery("filters compare scalars")


def _check_update(update: Update) -> None:
    touched: set[str] = set()
    for operator, fields in update.items():
        if operator not in _UPDATES:
            raise UnsupportedQuery(f"unsupported update operator {operator!r}")
        for field, value in fields.items():
            if not field or "." in field or field.startswith("$"):
                raise UnsupportedQuery(f"only top-level fields are supported, not {field!r}")
            if field == "_id" or field in touched:
                # Astra refuses to change _id, and two operators on one field.
                raise UnsupportedQuery(f"an update cannot target {field!r} here")
            touched.add(field)
            _check_plain(value)


def _check_plain(value: object) -> None:
    """Refuse ``$`` keys: the Data API would store ``{"$date": ...}`` and friends as other types."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str) or key.startswith("$"):
                raise UnsupportedQuery(f"document keys cannot start with '$': {key!r}")
            _check_plain(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_plain(item)


def _indexing(fields: tuple[str, ...]) -> dict[str, list[str]]:
    # An empty allow-list means "index everything" to the Data API: deny all instead.
    return {"allow": list(fields)} if fields else {"deny": ["*"]}


def _normal(indexing: Mapping[str, Any] | None) -> dict[str, frozenset[str]]:
    return {mode: frozenset(paths) for mode, paths in (indexing or {}).items()}
