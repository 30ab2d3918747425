"""Which settings decide where a channel's secrets go: declared, detected and checked.

Whoever may edit a hotel's settings cannot read its secrets; a setting that
decides where a secret is sent (a host, a port, a URL) or what TLS trusts (a
CA, a security mode) would let them redirect the secret to a server of their
own. A settings model names such fields in ``secret_destinations``; this
module finds the fields that look like one (by the words of their name and by
their type), so the conformance kit can fail a model that forgot one and the
suite can protect them even then. A field the heuristic gets wrong is named in
``not_secret_destinations`` with the reason.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from types import UnionType
from typing import Annotated, Any, Final, Union, cast, get_args, get_origin

from pydantic import (
    AnyUrl,
    BaseModel,
    IPvAnyAddress,
    IPvAnyInterface,
    IPvAnyNetwork,
    MongoDsn,
    NatsDsn,
    PostgresDsn,
    SecretBytes,
    SecretStr,
)
from pydantic_core import MultiHostUrl, Url

__all__ = [
    "DESTINATION_TYPES",
    "DESTINATION_WORDS",
    "DestinationCandidate",
    "contains_secret",
    "declaration_errors",
    "declared_destinations",
    "destination_candidates",
    "exempt_destinations",
    "is_secret_type",
    "secret_destination_fields",
    "undeclared_destinations",
    "walk_fields",
]

DESTINATION_WORDS: Final = frozenset(
    {
        # where: the server, its address, its port
        *("host", "hosts", "hostname", "hostnames", "server", "servers", "domain", "domains"),
        *("url", "urls", "uri", "uris", "endpoint", "endpoints", "dsn", "ip", "ips"),
        *("port", "ports", "proxy", "proxies", "socket", "sni"),
        # what is trusted on the way there
        *("ca", "cas", "cafile", "capath", "cert", "certs", "certificate", "certificates"),
        *("pem", "tls", "ssl", "starttls", "security", "trust", "trusted", "truststore"),
        *("fingerprint", "insecure"),
    }
)
"""Words of a field name (split at ``_`` and case changes) that mark a destination."""

_DESTINATION_SUFFIXES: Final = (
    *("url", "urls", "uri", "uris", "host", "hosts", "hostname"),
    *("endpoint", "endpoints", "server", "servers"),
)
# Also at the end of an unsplit word (``webhookurl``, ``smtphost``). Not ``port``:
# ``transport``, ``support`` and ``report`` end with it.

DESTINATION_TYPES: Final[tuple[type, ...]] = (
    AnyUrl,
    PostgresDsn,
    MongoDsn,
    NatsDsn,
    Url,
    MultiHostUrl,
    # Classes at run time (what a field's annotation holds), unions to type checkers.
    *cast(tuple[type, ...], (IPvAnyAddress, IPvAnyInterface, IPvAnyNetwork)),
    ipaddress.IPv4Address,
    ipaddress.IPv6Address,
    ipaddress.IPv4Interface,
    ipaddress.IPv6Interface,
    ipaddress.IPv4Network,
    ipaddress.IPv6Network,
    PurePath,
)
"""Field types that mark a destination whatever the name: URLs, IP addresses, paths
(a CA bundle, a socket)."""

_CASE_CHANGE: Final = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
"""Where a camelCase or an acronym ends: ``smtpHost``, ``SMTPServer``."""
_WORD: Final = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class DestinationCandidate:
    """A field that looks like it decides where secrets go, and why it looks so."""

    field: str
    """The top-level field: what ``secret_destinations`` names."""
    path: str
    """The field that matched: ``field`` itself, or a field of a model inside it."""
    why: str
    """``the word 'host'`` or ``the type HttpUrl``."""


def walk_fields(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted path, annotation)`` of every field of *model*, nested models included."""
    yield from _walk(model, prefix, frozenset())


def _walk(
    model: type[BaseModel], prefix: str, seen: frozenset[type[BaseModel]]
) -> Iterator[tuple[str, Any]]:
    seen = seen | {model}
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        yield path, info.annotation
        for nested in _models_in(info.annotation):
            if nested not in seen:  # a model that holds itself is walked once
                yield from _walk(nested, f"{path}.", seen)


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for argument in get_args(annotation):
        yield from _models_in(argument)


def contains_secret(annotation: Any) -> bool:
    """Whether *annotation* holds a ``SecretStr``/``SecretBytes`` anywhere: in a union,
    an ``Annotated``, a container or a nested model's fields."""
    return _holds_secret(annotation, frozenset())


def _holds_secret(annotation: Any, seen: frozenset[type[BaseModel]]) -> bool:
    if isinstance(annotation, type):
        if issubclass(annotation, SecretStr | SecretBytes):
            return True
        if issubclass(annotation, BaseModel) and annotation not in seen:
            inner = seen | {annotation}
            fields = annotation.model_fields.values()
            return any(_holds_secret(info.annotation, inner) for info in fields)
    return any(_holds_secret(argument, seen) for argument in get_args(annotation))


def _destination_type(annotation: Any) -> type | None:
    """The destination type in *annotation* (not looking into nested models), if any."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _destination_type(get_args(annotation)[0])
    if origin is not None:
        for argument in get_args(annotation):
            found = _destination_type(argument)
            if found is not None:
                return found
        return None
    if isinstance(annotation, type) and issubclass(annotation, DESTINATION_TYPES):
        return annotation
    return None


def _why(name: str, annotation: Any) -> str | None:
    """Why a field of this name and type looks like a destination; None if it does not."""
    found = _destination_type(annotation)
    if found is not None:
        return f"the type {found.__name__}"
    words = _WORD.findall(_CASE_CHANGE.sub("_", name).lower())
    for word in words:
        if word in DESTINATION_WORDS:
            return f"the word {word!r}"
    for word in words:
        if word.endswith(_DESTINATION_SUFFIXES):
            return f"the word {word!r}"
    return None


def is_secret_type(annotation: Any) -> bool:
    """SecretStr or SecretBytes, optionally ``| None``, or a container of them
    (``list[SecretStr]``, ``dict[str, SecretStr]``: the values must be secret),
    each possibly ``Annotated`` with constraints."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return is_secret_type(get_args(annotation)[0])
    if origin in (Union, UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        return bool(members) and all(is_secret_type(member) for member in members)
    if origin in (list, tuple, set, frozenset):
        items = [arg for arg in get_args(annotation) if arg is not Ellipsis]
        return bool(items) and all(is_secret_type(item) for item in items)
    if origin is dict:
        arguments = get_args(annotation)
        return len(arguments) == 2 and is_secret_type(arguments[1])
    return isinstance(annotation, type) and issubclass(annotation, SecretStr | SecretBytes)


def destination_candidates(model: type[BaseModel]) -> list[DestinationCandidate]:
    """Every field of *model* whose name or type looks like a destination, in field order.

    Secret fields are not candidates; a nested model's field makes its
    top-level field one (that is the field the suite compares).
    """
    found: list[DestinationCandidate] = []
    for path, annotation in walk_fields(model):
        if is_secret_type(annotation):
            continue  # a new value of a secret is the sender's own, not a way to a stored one
        why = _why(path.rsplit(".", 1)[-1], annotation)
        if why is not None:
            found.append(DestinationCandidate(path.split(".", 1)[0], path, why))
    return found


def declared_destinations(model: type[BaseModel]) -> frozenset[str]:
    """The fields *model* names in ``secret_destinations`` (none if it has no such ClassVar)."""
    return frozenset(getattr(model, "secret_destinations", frozenset()))


def exempt_destinations(model: type[BaseModel]) -> Mapping[str, str]:
    """Field -> reason, from *model*'s ``not_secret_destinations`` (empty if it has none)."""
    exempt: Mapping[str, str] = getattr(model, "not_secret_destinations", {})
    return exempt


def undeclared_destinations(model: type[BaseModel]) -> list[DestinationCandidate]:
    """The candidates neither declared nor exempted, if *model* has a secret at all."""
    if not any(contains_secret(info.annotation) for info in model.model_fields.values()):
        return []
    settled = declared_destinations(model) | set(exempt_destinations(model))
    return [
        candidate for candidate in destination_candidates(model) if candidate.field not in settled
    ]


def secret_destination_fields(model: type[BaseModel]) -> frozenset[str]:
    """The top-level fields whose change needs every stored secret sent again.

    The declared ones, and those that look like a destination and were not
    exempted: a model that forgot a declaration is still protected.
    """
    return declared_destinations(model) | {c.field for c in undeclared_destinations(model)}


def declaration_errors(model: type[BaseModel]) -> list[str]:
    """What is wrong with *model*'s declarations: unknown fields, missing reasons, both at once."""
    fields = set(model.model_fields)
    declared: object = getattr(model, "secret_destinations", frozenset())
    exempt: object = getattr(model, "not_secret_destinations", {})
    errors: list[str] = []
    if not isinstance(declared, frozenset | set) or not all(isinstance(n, str) for n in declared):
        errors.append("secret_destinations must be a frozenset of field names")
        declared = frozenset()
    if not isinstance(exempt, Mapping):
        errors.append("not_secret_destinations must map field names to the reason")
        exempt = {}
    for name in sorted(set(declared) - fields):
        errors.append(f"secret_destinations names {name!r}, which is not a field")
    for name, reason in sorted(exempt.items()):
        if name not in fields:
            errors.append(f"not_secret_destinations names {name!r}, which is not a field")
        if not (isinstance(reason, str) and reason.strip()):
            errors.append(f"not_secret_destinations[{name!r}] needs the reason (a sentence)")
        if name in declared:
            errors.append(f"{name!r} is both in secret_destinations and not_secret_destinations")
    return errors
