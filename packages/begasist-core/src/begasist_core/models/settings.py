"""The base every channel's settings model extends."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

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
    error, so that a typo in a setting is reported rather than ignored. Each
    field's docstring is its ``description`` in the JSON Schema: the help text
    of the admin form generated from it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    secret_destinations: ClassVar[frozenset[str]] = frozenset()
    """Fields that decide where the secrets are sent (a provider's base URL).

    The suite accepts a change to one of them only with every stored secret
    sent again: whoever may edit a hotel's settings cannot read its secrets,
    and must not be able to redirect them to a host of their own.
    """

    enabled: bool = True
    """Whether the hotel's bot runs the channel; a disabled one keeps its settings."""
    mode: ReplyMode = ReplyMode.SUPERVISED
    """How the assistant answers guests on this channel, unless a guest or
    conversation has its own mode."""
