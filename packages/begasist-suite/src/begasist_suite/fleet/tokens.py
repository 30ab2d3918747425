"""Bot tokens for the fleet: minted through the store as ``begasist tokens create-bot`` does,
kept in ``.env`` as ``BEGASIST_BOT_TOKEN_<SLUG>``, never printed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from begasist_suite.auth.credentials import digest, new_secret
from begasist_suite.fleet.env_file import EnvFile
from begasist_suite.store.records import Credential, CredentialKind
from begasist_suite.store.store import Store

__all__ = ["TOKEN_VARIABLE_PREFIX", "TokenChanges", "ensure_bot_tokens", "mint_bot_token"]

TOKEN_VARIABLE_PREFIX = "BEGASIST_BOT_TOKEN_"
FLEET_TOKEN_NAME = "begasist fleet"
"""The name of the tokens the fleet commands mint (``begasist tokens list`` shows it)."""


def token_variable(slug: str) -> str:
    """``plaza-mar`` -> ``BEGASIST_BOT_TOKEN_PLAZA_MAR`` (slugs are a-z, 0-9 and '-', so
    no two hotels share a variable)."""
    return TOKEN_VARIABLE_PREFIX + slug.upper().replace("-", "_")


async def mint_bot_token(store: Store, hotel: str, name: str) -> str:
    """A new bot token for *hotel* (which must exist): the store keeps its digest only,
    so the secret returned here is the one copy."""
    secret = new_secret("bot_token")
    await store.add_credential(
        Credential(digest=digest(secret), kind=CredentialKind.BOT_TOKEN, hotel=hotel, name=name)
    )
    return secret


async def _is_live(store: Store, hotel: str, secret: str) -> bool:
    credential = await store.get_credential(digest(secret))
    return (
        credential is not None
        and credential.kind is CredentialKind.BOT_TOKEN
        and credential.hotel == hotel
    )


@dataclass
class TokenChanges:
    """What :func:`ensure_bot_tokens` did, by hotel slug (never the tokens)."""

    minted: list[str] = field(default_factory=list)
    """Hotels that had no token in ``.env``."""
    replaced: list[str] = field(default_factory=list)
    """Hotels whose token in ``.env`` the store does not know (revoked, another store)."""
    dropped: list[str] = field(default_factory=list)
    """Variables of hotels no longer in the store, removed from ``.env``."""

    @property
    def changed(self) -> bool:
        return bool(self.minted or self.replaced or self.dropped)


async def ensure_bot_tokens(store: Store, hotels: Sequence[str], env: EnvFile) -> TokenChanges:
    """Give every hotel in *hotels* a live bot token in *env*, and drop the token variables
    of hotels that are gone (deleting a hotel deleted its tokens). *env* is changed in
    memory only: the caller writes it."""
    changes = TokenChanges()
    for hotel in sorted(hotels):
        variable = token_variable(hotel)
        current = env.get(variable)
        if current and await _is_live(store, hotel, current):
            continue
        (changes.replaced if current else changes.minted).append(hotel)
        env.set(variable, await mint_bot_token(store, hotel, FLEET_TOKEN_NAME))
    wanted = {token_variable(hotel) for hotel in hotels}
    for variable in env.names():
        if variable.startswith(TOKEN_VARIABLE_PREFIX) and variable not in wanted:
            env.remove(variable)
            changes.dropped.append(variable)
    return changes
