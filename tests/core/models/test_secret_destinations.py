"""Which settings decide where secrets go: the words, the types, the declarations."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar

import pytest
from begasist_core import ChannelSettings
from begasist_core.models.secret_destinations import (
    contains_secret,
    declaration_errors,
    destination_candidates,
    secret_destination_fields,
    undeclared_destinations,
)
from pydantic import (
    AnyUrl,
    BaseModel,
    Field,
    FilePath,
    HttpUrl,
    IPvAnyAddress,
    PostgresDsn,
    SecretBytes,
    SecretStr,
    create_model,
)


def candidates_of(annotation: Any, name: str = "setting") -> list[str]:
    model = create_model("Probe", **{name: (annotation, ...)})
    return [candidate.why for candidate in destination_candidates(model)]


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("imap_host", "the word 'host'"),
        ("smtpHost", "the word 'host'"),
        ("SMTPServer", "the word 'server'"),
        ("graph_api_url", "the word 'url'"),
        ("webhookurl", "the word 'webhookurl'"),
        ("base_uri", "the word 'uri'"),
        ("imap4_port", "the word 'port'"),
        ("imap_security", "the word 'security'"),
        ("tls_ca_pem", "the word 'tls'"),
        ("ca_bundle", "the word 'ca'"),
        ("client_certificate", "the word 'certificate'"),
        ("verify_ssl", "the word 'ssl'"),
        ("allow_insecure", "the word 'insecure'"),
        ("https_proxy", "the word 'proxy'"),
        ("mail_domain", "the word 'domain'"),
        ("sentinel_endpoints", "the word 'endpoints'"),
        ("trusted_fingerprint", "the word 'trusted'"),
        ("server_ip", "the word 'server'"),
    ],
)
def test_a_name_with_a_destination_word_is_a_candidate(name: str, why: str) -> None:
    assert candidates_of(str, name) == [why]


@pytest.mark.parametrize(
    "name",
    [
        "transport",
        "support_email",
        "report_to",
        "phone_number_id",
        "display_name",
        "messages_per_second",
        "graph_api_version",
        "captions",
        "scale",
        "address",
        "enabled",
    ],
)
def test_an_ordinary_name_is_not_a_candidate(name: str) -> None:
    assert candidates_of(str, name) == []


@pytest.mark.parametrize(
    ("annotation", "why"),
    [
        (HttpUrl, "the type HttpUrl"),
        (AnyUrl, "the type AnyUrl"),
        (HttpUrl | None, "the type HttpUrl"),
        (Annotated[HttpUrl, Field(description="x")], "the type HttpUrl"),
        (list[AnyUrl], "the type AnyUrl"),
        (dict[str, HttpUrl], "the type HttpUrl"),
        (PostgresDsn, "the type PostgresDsn"),
        (IPvAnyAddress, "the type IPvAnyAddress"),
        (ipaddress.IPv4Address, "the type IPv4Address"),
        (Path, "the type Path"),
        (FilePath, "the type Path"),
    ],
)
def test_a_destination_type_is_a_candidate_whatever_its_name(annotation: Any, why: str) -> None:
    assert candidates_of(annotation, "provider") == [why]


def test_secret_fields_are_not_candidates() -> None:
    assert candidates_of(SecretStr, "proxy_password") == []
    assert candidates_of(SecretStr | None, "server_token") == []
    assert candidates_of(list[SecretStr], "host_keys") == []


def test_a_nested_field_makes_its_top_level_field_a_candidate() -> None:
    class Relay(BaseModel):
        hostname: str
        note: str = ""

    class Settings(BaseModel):
        relays: tuple[Relay, ...] = ()
        api_key: SecretStr

    (candidate,) = destination_candidates(Settings)
    assert (candidate.field, candidate.path) == ("relays", "relays.hostname")


@pytest.mark.parametrize(
    ("annotation", "holds"),
    [
        (SecretStr, True),
        (SecretBytes | None, True),
        (Annotated[SecretStr | None, Field(min_length=1)], True),
        (list[SecretStr], True),
        (dict[str, SecretStr], True),
        (str, False),
        (list[str] | None, False),
    ],
)
def test_contains_secret_looks_into_unions_annotated_and_containers(
    annotation: Any, holds: bool
) -> None:
    assert contains_secret(annotation) is holds


def test_contains_secret_looks_into_nested_models() -> None:
    class Inner(BaseModel):
        password: SecretStr

    class Outer(BaseModel):
        inner: list[Inner] = []

    assert contains_secret(Outer)
    assert contains_secret(list[Outer] | None)


def test_a_model_without_secrets_has_nothing_to_declare() -> None:
    class Settings(ChannelSettings):
        api_host: str = "api.example.com"

    assert undeclared_destinations(Settings) == []
    assert secret_destination_fields(Settings) == frozenset()


def test_declared_and_exempted_fields_are_settled() -> None:
    class Settings(ChannelSettings):
        secret_destinations: ClassVar[frozenset[str]] = frozenset({"api_host"})
        not_secret_destinations: ClassVar[Mapping[str, str]] = {
            "guest_port": "the port guests connect to; the token never goes there"
        }
        api_host: str = "api.example.com"
        guest_port: int = 443
        callback_url: str = "https://hotel.example/cb"
        api_token: SecretStr

    assert [c.field for c in undeclared_destinations(Settings)] == ["callback_url"]
    # The suite protects the declared field and the forgotten one, not the exempted one.
    assert secret_destination_fields(Settings) == {"api_host", "callback_url"}


@pytest.mark.parametrize(
    ("declarations", "error"),
    [
        (
            {"secret_destinations": frozenset({"api_hots"})},
            "secret_destinations names 'api_hots', which is not a field",
        ),
        (
            {"not_secret_destinations": {"api_hots": "a typo"}},
            "not_secret_destinations names 'api_hots', which is not a field",
        ),
        (
            {"not_secret_destinations": {"api_host": "  "}},
            "not_secret_destinations['api_host'] needs the reason",
        ),
        (
            {"not_secret_destinations": frozenset({"api_host"})},
            "not_secret_destinations must map field names to the reason",
        ),
        (
            {"secret_destinations": "api_host"},
            "secret_destinations must be a frozenset of field names",
        ),
        (
            {
                "secret_destinations": frozenset({"api_host"}),
                "not_secret_destinations": {"api_host": "it is not"},
            },
            "'api_host' is both in secret_destinations and not_secret_destinations",
        ),
    ],
)
def test_a_settings_class_with_a_wrong_declaration_cannot_be_defined(
    declarations: dict[str, Any], error: str
) -> None:
    namespace: dict[str, Any] = {
        "__annotations__": {
            "api_host": "str",
            "api_token": "SecretStr",
            **{name: "ClassVar[Any]" for name in declarations},
        },
        "api_host": "api.example.com",
        **declarations,
    }
    with pytest.raises(TypeError, match="Misdeclared: ") as refused:
        type("Misdeclared", (ChannelSettings,), namespace)
    assert error in str(refused.value)


def test_declaration_errors_of_a_plain_model_name_the_problem() -> None:
    class AppSettings(BaseModel):
        secret_destinations: ClassVar[frozenset[str]] = frozenset({"token_url"})
        app_secret: SecretStr

    assert declaration_errors(AppSettings) == [
        "secret_destinations names 'token_url', which is not a field"
    ]
