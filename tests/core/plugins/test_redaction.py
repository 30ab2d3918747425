"""Redaction of a channel's secrets from error text: which values, and how they are replaced."""

from __future__ import annotations

from begasist_core import ChannelSettings
from begasist_core.plugins.redaction import REDACTED, redact, secret_values
from pydantic import BaseModel, SecretBytes, SecretStr


class Signing(BaseModel):
    key: SecretBytes
    algorithm: str = "sha256"


class Webhook(BaseModel):
    url: str
    verify_token: SecretStr
    signing: Signing


class ProviderSettings(ChannelSettings):
    account: str
    api_token: SecretStr
    client_key: SecretBytes
    webhook: Webhook
    fallback_token: SecretStr | None = None


def provider_settings(**overrides: object) -> ProviderSettings:
    values: dict[str, object] = {
        "account": "plaza-account",
        "api_token": "tok-123456",
        "client_key": b"ck-abcdef",
        "webhook": {
            "url": "https://hooks.example/plaza",
            "verify_token": "vt-987654",
            "signing": {"key": b"sig-key-42"},
        },
    }
    return ProviderSettings.model_validate({**values, **overrides})


class Overlapping(BaseModel):
    """The shorter secret is declared first, and the longer one contains it."""

    pin: SecretStr
    password: SecretStr


class ShortSecrets(BaseModel):
    unset: SecretStr = SecretStr("")
    three: SecretStr
    four: SecretStr


def test_secret_values_finds_every_secret_field_nested_models_included() -> None:
    assert sorted(secret_values(provider_settings())) == [
        "ck-abcdef",
        "sig-key-42",
        "tok-123456",
        "vt-987654",
    ]


def test_secret_values_skips_an_unset_optional_secret_and_finds_a_set_one() -> None:
    assert "tok-backup" not in secret_values(provider_settings())
    assert "tok-backup" in secret_values(provider_settings(fallback_token="tok-backup"))


def test_secret_values_of_settings_without_secrets_is_empty() -> None:
    assert list(secret_values(ChannelSettings())) == []


def test_redact_replaces_every_occurrence_of_every_secret() -> None:
    text = (
        "POST https://api.example/send?token=tok-123456 failed; "
        "retry with tok-123456, key ck-abcdef, verify vt-987654, signature sig-key-42"
    )
    assert redact(text, provider_settings()) == (
        "POST https://api.example/send?token=*** failed; "
        "retry with ***, key ***, verify ***, signature ***"
    )
    assert REDACTED == "***"


def test_redact_replaces_the_longest_secret_first() -> None:
    settings = Overlapping(pin=SecretStr("4242"), password=SecretStr("pass4242word"))
    assert redact("login pass4242word, then pin 4242", settings) == "login ***, then pin ***"


def test_redact_leaves_text_without_secrets_untouched() -> None:
    # Parts of secrets, and the plain settings, are no secrets.
    text = "HTTP 401 for plaza-account at https://hooks.example/plaza: tok-12345 tok- ck-abc"
    assert redact(text, provider_settings()) == text
    assert redact(text, ChannelSettings()) == text


def test_redact_ignores_secrets_shorter_than_four_characters() -> None:
    settings = ShortSecrets(three=SecretStr("abc"), four=SecretStr("wxyz"))
    assert redact("abc said wxyz to abcabc", settings) == "abc said *** to abcabc"


def test_secrets_inside_lists_tuples_and_dicts_are_found() -> None:
    class Account(BaseModel):
        password: SecretStr

    class Holder(BaseModel):
        tokens: list[SecretStr]
        by_name: dict[str, SecretStr]
        accounts: tuple[Account, ...]

    holder = Holder(
        tokens=[SecretStr("token-one")],
        by_name={"b": SecretStr("token-two")},
        accounts=(Account(password=SecretStr("pass-three")),),
    )
    assert sorted(secret_values(holder)) == ["pass-three", "token-one", "token-two"]
