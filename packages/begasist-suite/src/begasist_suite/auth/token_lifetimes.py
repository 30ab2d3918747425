"""A token never mints one that outlives it: the limit on a new token's expiry.

A personal API token with an expiry that could create a token without one (or
a bot token, which never expires) would turn a short-lived leak into a
permanent one. A browser session is the person, signed in with their password:
what it creates is not limited by the session's own (short) lifetime.
"""

from __future__ import annotations

from datetime import datetime

from litestar.exceptions import PermissionDeniedException

from begasist_suite.auth.principal import Principal
from begasist_suite.store.records import CredentialKind

__all__ = ["TokenOutlivesCaller", "check_token_lifetime"]


class TokenOutlivesCaller(PermissionDeniedException):
    """403: the new token would expire after the token asking for it (or never)."""


def check_token_lifetime(principal: Principal, expires_at: datetime | None) -> None:
    """Raise :class:`TokenOutlivesCaller` if a token expiring at *expires_at* (None: never)
    would outlive the caller's own token."""
    caller = principal.credential
    if caller.kind is not CredentialKind.API_TOKEN or caller.expires_at is None:
        return
    if expires_at is None or expires_at > caller.expires_at:
        raise TokenOutlivesCaller(
            "a token cannot create one that outlives it: this one expires at "
            f"{caller.expires_at.isoformat()}"
        )
