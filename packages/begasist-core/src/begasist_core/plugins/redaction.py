"""Keeping a channel's secrets out of error text, logs, events and Redis."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel, SecretBytes, SecretStr

__all__ = ["REDACTED", "redact", "secret_values"]

REDACTED = "***"

# Shorter values would blank out ordinary words; no real credential is this short.
_MIN_SECRET_LENGTH = 4


def secret_values(settings: BaseModel) -> Iterator[str]:
    """Every ``SecretStr``/``SecretBytes`` value in *settings*: nested models and
    lists, tuples, sets and dict values of them included."""
    for name in type(settings).model_fields:
        yield from _secrets_in(getattr(settings, name))


def _secrets_in(value: object) -> Iterator[str]:
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, SecretBytes):
        yield value.get_secret_value().decode("utf-8", "replace")
    elif isinstance(value, BaseModel):
        yield from secret_values(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secrets_in(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _secrets_in(item)


def redact(text: str, settings: BaseModel) -> str:
    """*text* with every secret of *settings* replaced by ``***``.

    An error from a provider library can quote a URL or header with a token in
    it; the runtime passes every channel error through this before it is
    logged, published as ``channel.state`` or noted in Redis.
    """
    for secret in sorted(secret_values(settings), key=len, reverse=True):
        if len(secret) >= _MIN_SECRET_LENGTH:
            text = text.replace(secret, REDACTED)
    return text
