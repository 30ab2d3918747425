"""The base every channel's settings model extends."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from begasist_core.models.secret_destinations import declaration_errors
from begasist_core.models.translations import FieldTranslation

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
    """Fields that decide where the secrets are sent or what TLS trusts on the way:
    hosts, ports, URLs, security modes, CA certificates.

    The suite accepts a change to one of them only with every stored secret
    sent again: whoever may edit a hotel's settings cannot read its secrets,
    and must not be able to redirect them to a host of their own. The
    conformance kit fails a model with secrets whose field looks like such a
    destination (by its name's words or its type) and is not named here.
    """

    not_secret_destinations: ClassVar[Mapping[str, str]] = MappingProxyType({})
    """Field -> why it is not a destination, for a field that only looks like one
    (``{"transport_port": "the port the guest's app listens on, no secret goes there"}``).

    The kit then passes it, and the suite lets it change without the secrets.
    """

    translations: ClassVar[Mapping[str, Mapping[str, FieldTranslation]]] = MappingProxyType({})
    """Language code -> field name -> the field's title, help and choice labels in that
    language, for the admin form (``{"es": {"api_token": FieldTranslation(title="Token")}}``).

    The model's own text (titles, docstrings, enum values) is the fallback for
    anything not translated; the conformance kit checks every entry names a
    field (and a choice) of the model.
    """

    enabled: bool = True
    """Whether the hotel's bot runs the channel; a disabled one keeps its settings."""
    mode: ReplyMode = ReplyMode.SUPERVISED
    """How the assistant answers guests on this channel, unless a guest or
    conversation has its own mode."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse a model whose declarations name no field or give no reason.

        A misspelt name would leave the real field unprotected without a word.
        """
        super().__pydantic_init_subclass__(**kwargs)
        errors = declaration_errors(cls)
        if errors:
            raise TypeError(f"{cls.__qualname__}: {'; '.join(errors)}")
