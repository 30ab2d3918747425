"""What a hotel configures for this channel: the admin form is generated from it."""

from __future__ import annotations

from begasist_core import ChannelSettings
from pydantic import SecretStr

__all__ = ["ChannexSettings"]


class ChannexSettings(ChannelSettings):
    """The Channex channel's settings for one hotel.

    Add what your provider needs: an account id, an API token (``SecretStr``,
    like every secret). A field that decides where a secret is sent, such as
    an API base URL, is named in ``secret_destinations``.
    """

    webhook_secret: SecretStr
    """Shared with the provider: it signs each webhook body with HMAC-SHA256."""
