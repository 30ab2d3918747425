"""Inbox search: the tokens a conversation is found by, and a query's tokens.

Astra's Data API has no ``LIKE``, so a conversation stores the normalized
tokens it can be found by (its ``search`` list) and a search asks for
conversations holding every token of the query (``$all``): the same on
SQLite and Astra. What matches:

- words (anything without ``@`` that is not a phone number): each word is the
  start of a word of the guest's name or of their address's local part,
  case and accents ignored (``mar lop`` finds "María López"); every word must
  match;
- a phone number (digits with ``+ - . ( )`` and spaces, at least
  :data:`MIN_DIGITS` digits): its digits appear, in a row, in the guest's
  number (``600 12`` finds ``+34 600 123 456``);
- an address (with ``@``): the whole address, or its local part before ``@``
  (``ana@`` finds ``ana@example.com``), case ignored.

Tokens are made from the guest identity the conversation's latest message
came with, so a guest's new name is found from their next message on.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from begasist_core import GuestIdentity

__all__ = ["MAX_WORD", "MIN_DIGITS", "query_tokens", "search_tokens"]

MAX_WORD: Final = 20
"""Longer words are matched on their first 20 characters."""
MIN_DIGITS: Final = 3
"""A query of fewer digits is words, not a phone number."""
_MAX_DIGITS: Final = 20
_WORD: Final = re.compile(r"[^\W_]+")
_PHONE: Final = re.compile(r"^[\d\s+().-]+$")


def _fold(text: str) -> str:
    """Case and accents ignored: "María" and "maria" are the same."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _words(text: str) -> list[str]:
    return [word[:MAX_WORD] for word in _WORD.findall(_fold(text))]


def search_tokens(identity: GuestIdentity) -> list[str]:
    """What a conversation with *identity* is found by (see the module docstring)."""
    tokens: set[str] = set()
    address = identity.address.strip()
    local = address
    if "@" in address:
        folded = address.casefold()
        local = folded.split("@", 1)[0]
        tokens.update({f"e:{folded}", f"e:{local}@"})
    else:
        digits = "".join(c for c in address if c.isdigit())[:_MAX_DIGITS]
        if len(digits) >= MIN_DIGITS and _PHONE.match(address):
            tokens.update(
                f"t:{digits[start:end]}"
                for start in range(len(digits))
                for end in range(start + MIN_DIGITS, len(digits) + 1)
            )
            local = ""
    for word in _words(identity.display_name or "") + _words(local):
        tokens.update(f"n:{word[:length]}" for length in range(1, len(word) + 1))
    return sorted(tokens)


def query_tokens(query: str) -> list[str]:
    """The tokens a conversation must all hold to match *query*; none for a blank one
    (no search)."""
    query = query.strip()
    if not query:
        return []
    if "@" in query:
        folded = query.casefold()
        local, _, domain = folded.partition("@")
        return [f"e:{local}@" if not domain else f"e:{folded}"]
    digits = "".join(c for c in query if c.isdigit())
    if _PHONE.match(query) and len(digits) >= MIN_DIGITS:
        return [f"t:{digits[:_MAX_DIGITS]}"]
    words = _words(query)
    # Punctuation alone finds nothing (rather than everything).
    return sorted({f"n:{word}" for word in words}) if words else ["n:"]
