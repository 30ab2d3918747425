"""What every part of the store shares: errors, document helpers, the collections."""

from __future__ import annotations

import base64
import hashlib
from typing import Any, Final, NamedTuple

from begasist_core import (
    GuestIdentity,
    Message,
)

from begasist_suite.store.documents import DocumentDatabase
from begasist_suite.store.records import (
    ConversationRecord,
)

__all__ = ["MAX_PAGE", "Conflict", "InboundRecorded", "NotFound", "StoreBase"]

_CAS_ATTEMPTS: Final = 20
MAX_PAGE: Final = 200


class NotFound(LookupError):
    """No such object in this hotel."""


class Conflict(Exception):
    """The object exists already, or changed under us and cannot be changed as asked."""


class InboundRecorded(NamedTuple):
    conversation: ConversationRecord
    message: Message
    created: bool
    """False when the message was stored before (a replay): nothing changed."""
    responded: bool
    """Whether the responder already ran for it."""


def _doc(model: Any, **extra: Any) -> dict[str, Any]:
    return {**model.model_dump(mode="json"), **extra}


def _strip(document: dict[str, Any], *fields: str) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in {"_id", *fields}}


def _thread_id(hotel: str, channel: str, key: str) -> str:
    return f"{hotel}|{channel}|{key}"


def _inbound_id(hotel: str, channel: str, provider_message_id: str) -> str:
    return f"in|{hotel}|{channel}|{provider_message_id}"


def _identity_id(hotel: str, identity: GuestIdentity) -> str:
    return f"identity|{hotel}|{identity.channel}|{identity.address}"


def _only(changes: dict[str, Any], allowed: set[str]) -> None:
    if not set(changes) <= allowed:
        raise ValueError(f"only {sorted(allowed)} can change, not {sorted(set(changes) - allowed)}")


def _stable_id(natural_key: str) -> str:
    """A 26-character id derived from *natural_key*: the same on every replica and replay."""
    digest = hashlib.sha256(natural_key.encode("utf-8")).digest()[:16]
    return base64.b32encode(digest).decode("ascii").rstrip("=")


def _page_limit(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE))


class StoreBase:
    """The collections of one document database; the store's parts extend it."""

    def __init__(self, database: DocumentDatabase) -> None:
        self.database = database
        self._hotels = database.collection("hotels")
        self._users = database.collection("users")
        self._memberships = database.collection("memberships")
        self._credentials = database.collection("credentials")
        self._channel_configs = database.collection("channel_configs")
        self._guests = database.collection("guests")
        self._conversations = database.collection("conversations")
        self._messages = database.collection("messages")
        self._drafts = database.collection("drafts")
        self._channel_states = database.collection("channel_states")
