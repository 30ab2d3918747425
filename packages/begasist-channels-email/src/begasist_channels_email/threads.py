"""Which conversation an email belongs to, and the headers that keep a reply in its thread.

A conversation is one thread of one guest: its key is
``<guest address>|<32 hex digits>``, the digits naming the thread's root
message, so the same thread seen from two guests (a Cc) gives two
conversations, and the guest can be read back from the key (the digits have a
fixed length). Everything lives in the channel's private Redis keys (one hotel,
one channel), every key expires :data:`THREAD_TTL` after it was last written.

An inbound message is placed by the first rule that answers:

1. its own Message-ID was seen before (a redelivery, a resync): same place;
2. In-Reply-To, then every References id newest first, names a message we
   know: its conversation. An Outlook reply whose In-Reply-To was rewritten
   still carries References, so it lands in its thread;
3. Outlook's Thread-Index (its first 22 bytes name the thread) is known;
4. the guest has a conversation with the same normalized subject (``Re:``,
   ``RV:``, ``AW:``... removed, spaces collapsed, case folded): that one,
   for mail whose client dropped the headers;
5. unless ``new_subject_new_conversation``: the guest's latest conversation,
   so one guest has one ongoing conversation, as on chat channels;
6. otherwise a new conversation rooted at the first References id (the
   thread's root even if we never saw it), else In-Reply-To, else its own
   Message-ID.

Nothing is written while placing: :meth:`ThreadIndex.remember` records a
message once its event is durable. The per-conversation chain behind
:meth:`ThreadIndex.thread_headers` is read-modify-write: two messages of one
thread remembered at the same instant may drop one id from the References
of a later reply, never the thread.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final, Protocol

from begasist_core import ChannelKeys

__all__ = [
    "MAX_REFERENCES",
    "THREAD_TTL",
    "ThreadIndex",
    "ThreadedEmail",
    "bare_message_id",
    "conversation_key_for",
    "guest_of",
    "normalized_subject",
]

THREAD_TTL: Final = timedelta(days=180)
"""How long a thread is remembered after its last message: a guest's next stay, not forever."""

MAX_REFERENCES: Final = 20
"""The root and the 19 latest ids: what a References header carries at most."""

_CHAIN_LIMIT: Final = 50
_DIGEST_LENGTH: Final = 32
# Reply and forward prefixes of the usual languages; \uff1a is the full-width colon.
_REPLY_PREFIX = re.compile(
    r"^\s*(?:re|fwd?|rv|aw|antw|enc|sv|vs|wg|tr|r)\s*(?:\[\d+\]|\(\d+\))?\s*[:\uff1a]\s*",
    re.IGNORECASE,
)
_OUTLOOK_THREAD_BYTES: Final = 22


class ThreadedEmail(Protocol):
    """What threading reads of a parsed email (``parsing.ParsedEmail`` has it)."""

    @property
    def message_id(self) -> str | None: ...
    @property
    def in_reply_to(self) -> tuple[str, ...]: ...
    @property
    def references(self) -> tuple[str, ...]: ...
    @property
    def thread_index(self) -> str | None: ...
    @property
    def subject(self) -> str | None: ...
    @property
    def date(self) -> object: ...


def bare_message_id(value: str) -> str:
    """*value* without spaces and angle brackets: ``<a@b>`` and ``a@b`` are one id."""
    return value.strip().strip("<>").strip()


def normalized_subject(subject: str | None) -> str:
    """*subject* without reply/forward prefixes, spaces collapsed, case folded ('' if none)."""
    text = " ".join((subject or "").split())
    while True:
        stripped = _REPLY_PREFIX.sub("", text, count=1)
        if stripped == text:
            return text.casefold()
        text = stripped


def conversation_key_for(guest_address: str, root_message_id: str) -> str:
    """The conversation key of the thread rooted at *root_message_id* for this guest."""
    return f"{guest_address.lower()}|{_digest(bare_message_id(root_message_id))}"


def guest_of(conversation_key: str) -> str | None:
    """The guest address a key from :func:`conversation_key_for` holds, else None."""
    guest, separator, digest = conversation_key.rpartition("|")
    if not separator or not guest or not re.fullmatch(r"[0-9a-f]{32}", digest):
        return None
    return guest


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:_DIGEST_LENGTH]


def _outlook_thread(thread_index: str | None) -> str | None:
    """The thread part (first 22 bytes, as hex) of a base64 Thread-Index, None if unreadable."""
    if not thread_index:
        return None
    try:
        raw = base64.b64decode("".join(thread_index.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw[:_OUTLOOK_THREAD_BYTES].hex() if len(raw) >= _OUTLOOK_THREAD_BYTES else None


@dataclass
class _Thread:
    subject: str | None = None
    ids: list[str] = field(default_factory=list)


class ThreadIndex:
    """The message-id -> conversation map of one hotel's email channel (module doc: the rules)."""

    def __init__(self, keys: ChannelKeys) -> None:
        self._keys = keys

    async def conversation_for(
        self, parsed: ThreadedEmail, guest_address: str, *, new_subject_new_conversation: bool
    ) -> str:
        """The conversation key *parsed* belongs to, for the guest *guest_address*; no writes."""
        guest = guest_address.lower()
        candidates = [parsed.message_id] if parsed.message_id else []
        # The newest References first; a very long header is read up to the chain's limit.
        candidates += list(parsed.in_reply_to) + list(reversed(parsed.references))[:_CHAIN_LIMIT]
        for message_id in candidates:
            found = await self._get(self._message_name(guest, message_id))
            if found is not None:
                return found
        outlook = _outlook_thread(parsed.thread_index)
        if outlook is not None:
            found = await self._get(self._outlook_name(guest, outlook))
            if found is not None:
                return found
        subject = normalized_subject(parsed.subject)
        if subject:
            found = await self._get(self._subject_name(guest, subject))
            if found is not None:
                return found
        if not new_subject_new_conversation:
            found = await self._get(self._latest_name(guest))
            if found is not None:
                return found
        root = next(iter(parsed.references or parsed.in_reply_to), None) or parsed.message_id
        if root is None:
            # No id at all: a stable stand-in, so a redelivery lands in the same place.
            root = f"no-id:{_digest(str(parsed.subject), str(parsed.date))}"
        return conversation_key_for(guest, root)

    async def remember(
        self,
        message_id: str,
        conversation_key: str,
        subject: str | None,
        *,
        guest_address: str | None = None,
        thread_index: str | None = None,
    ) -> None:
        """Record that *message_id* (inbound, or our own reply) belongs to *conversation_key*.

        *guest_address* defaults to the one in the key (see :func:`guest_of`);
        a key of another shape without it is recorded for :meth:`thread_headers`
        only. *thread_index* (Outlook's header) lets later mail of that thread
        find it by rule 3.
        """
        guest = (guest_address or guest_of(conversation_key) or "").lower()
        bare = bare_message_id(message_id)
        if guest:
            await self._put(self._message_name(guest, bare), conversation_key)
            await self._put(self._latest_name(guest), conversation_key)
            normal = normalized_subject(subject)
            if normal:
                await self._put(self._subject_name(guest, normal), conversation_key)
            outlook = _outlook_thread(thread_index)
            if outlook is not None:
                await self._put(self._outlook_name(guest, outlook), conversation_key)
        thread = await self._thread(conversation_key)
        chain = thread.ids
        if bare and bare not in chain:
            chain = [*chain[:1], *chain[1:][-(_CHAIN_LIMIT - 2) :], bare]
        stored_subject = subject if subject and subject.strip() else thread.subject
        value = json.dumps({"subject": stored_subject, "ids": chain})
        await self._put(self._conversation_name(conversation_key), value)

    async def thread_headers(
        self, conversation_key: str, reply_to_message_id: str | None
    ) -> tuple[str | None, str | None, tuple[str, ...]]:
        """``(subject, in_reply_to, references)`` for a reply in this conversation.

        The subject is the thread's latest (None for a thread we never saw);
        In-Reply-To is *reply_to_message_id* when it is a Message-ID, else the
        thread's latest message;
        References is the chain up to it, the root kept and at most
        :data:`MAX_REFERENCES` ids. Ids are bare (no angle brackets).
        """
        thread = await self._thread(conversation_key)
        chain = thread.ids
        answered = bare_message_id(reply_to_message_id or "")
        if "@" not in answered:
            # Not a Message-ID (a mail without one has a ``sha256:`` provider id).
            answered = chain[-1] if chain else ""
        if not answered:
            return thread.subject, None, ()
        upto = chain[: chain.index(answered) + 1] if answered in chain else [*chain, answered]
        if len(upto) > MAX_REFERENCES:
            upto = [upto[0], *upto[-(MAX_REFERENCES - 1) :]]
        return thread.subject, answered, tuple(upto)

    async def _thread(self, conversation_key: str) -> _Thread:
        raw = await self._keys.get(self._conversation_name(conversation_key))
        if raw is None:
            return _Thread()
        loaded = json.loads(raw)
        subject = loaded.get("subject")
        ids = [str(item) for item in loaded.get("ids", [])]
        return _Thread(subject if isinstance(subject, str) else None, ids)

    async def _get(self, name: str) -> str | None:
        raw = await self._keys.get(name)
        return None if raw is None else raw.decode()

    async def _put(self, name: str, value: str) -> None:
        await self._keys.set(name, value, ttl=THREAD_TTL)

    @staticmethod
    def _message_name(guest: str, message_id: str) -> str:
        return f"thread:msg:{_digest(guest, bare_message_id(message_id))}"

    @staticmethod
    def _outlook_name(guest: str, outlook_thread: str) -> str:
        return f"thread:outlook:{_digest(guest, outlook_thread)}"

    @staticmethod
    def _subject_name(guest: str, subject: str) -> str:
        return f"thread:subject:{_digest(guest, subject)}"

    @staticmethod
    def _latest_name(guest: str) -> str:
        return f"thread:latest:{_digest(guest)}"

    @staticmethod
    def _conversation_name(conversation_key: str) -> str:
        return f"thread:conversation:{_digest(conversation_key)}"
