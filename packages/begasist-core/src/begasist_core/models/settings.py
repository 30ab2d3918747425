"""The base every channel's settings model extends."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

__all__ = ["ChannelSettings", "ReplyMode"]


class ReplyMode(StrEnum):
    """How the assistant answers on a channel."""

    AUTOMATIC = "automatic"
    """The assistant's reply goes out without a person."""
    SUPERVISED = "supervised"
    """The assistant drafts; staff approve, edit or reject before it goes out."""
    MANUAL = "manual"
    """Nothing is generated; staff answer by hand."""


class ChannelSettings(BaseModel):
    """Settings common to every channel; a channel's ``Settings`` subclasses this.

    Subclasses declare secrets as :class:`pydantic.SecretStr` so that the admin
    form, the API and the logs treat them as write-only. Unknown keys are an
    error, so that a typo in a setting is reported rather than ignored.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    mode: ReplyMode = ReplyMode.SUPERVISED
