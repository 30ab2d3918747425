"""Opening the configured store: SQLite by default, Astra DB when asked."""

from __future__ import annotations

from begasist_suite.config import SuiteSettings
from begasist_suite.store.sqlite import SqliteDatabase
from begasist_suite.store.store import Store

__all__ = ["StoreConfigError", "open_store"]


class StoreConfigError(ValueError):
    """The store settings are incomplete."""


def open_store(settings: SuiteSettings) -> Store:
    """The store *settings* name (not yet migrated)."""
    if settings.store == "sqlite":
        return Store(SqliteDatabase(settings.sqlite_path))
    endpoint = settings.astra_db_api_endpoint
    token = settings.astra_db_application_token
    if not endpoint or token is None:
        raise StoreConfigError(
            "BEGASIST_STORE=astra needs ASTRA_DB_API_ENDPOINT and ASTRA_DB_APPLICATION_TOKEN"
        )
    from begasist_suite.store.astra import AstraDatabase

    return Store(
        AstraDatabase(endpoint, token.get_secret_value(), keyspace=settings.astra_db_keyspace)
    )
