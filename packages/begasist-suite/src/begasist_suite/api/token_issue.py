"""Issuing a personal or bot token once per ``Idempotency-Key``.

The secret is random and stored only as its digest, so it cannot be made
again: the first response (which shows it) is stored encrypted for replays
(``api/idempotency.py``). With a key, the token's public id comes from the
key. On a store without transactions (Astra) a crash between storing the
token and recording the response leaves a token nobody was shown; the retry
finds it by that id and answers 409 naming it (revoke it, retry with a new
key), rather than make a second token silently.
"""

from __future__ import annotations

from datetime import datetime

from begasist_core import new_id
from litestar.exceptions import HTTPException

from begasist_suite.api.idempotency import IDEMPOTENCY_HEADER, Attempt
from begasist_suite.auth.credentials import digest, new_secret
from begasist_suite.services import Services
from begasist_suite.store.records import Credential, CredentialKind

__all__ = ["issue_token"]


async def issue_token(
    services: Services,
    attempt: Attempt,
    kind: CredentialKind,
    *,
    name: str,
    user_id: str | None = None,
    hotel: str | None = None,
    expires_at: datetime | None = None,
) -> tuple[Credential, str]:
    """A new token of *kind* for *user_id* or *hotel*: its stored credential and its secret."""
    token_id = attempt.derived_id("token") or new_id()
    if attempt.resumed:
        made = await services.store.list_credentials(kind, user_id=user_id, hotel=hotel)
        if any(credential.id == token_id for credential in made):
            raise HTTPException(
                status_code=409,
                detail=f"an earlier request with this {IDEMPOTENCY_HEADER} created token "
                f"{token_id} and did not finish; its secret cannot be shown again: revoke "
                "it and create another with a new key",
            )
    secret = new_secret(kind.value)
    credential = await services.store.add_credential(
        Credential(
            digest=digest(secret),
            id=token_id,
            kind=kind,
            user_id=user_id,
            hotel=hotel,
            name=name,
            expires_at=expires_at,
        )
    )
    return credential, secret
