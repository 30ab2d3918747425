"""The demo data of ``begasist dev``: hotels, staff, the demo channel, an FAQ, bot tokens."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from begasist_core import FaqEntry, PluginManager, ReplyMode

from begasist_suite.auth.credentials import digest, hash_password, new_secret, verify_password
from begasist_suite.channel_settings import apply_settings_update
from begasist_suite.secret_box import SecretBox, UndecryptableSecret
from begasist_suite.store.records import Credential, CredentialKind, Hotel, Membership, Role, User
from begasist_suite.store.store import Store

__all__ = ["DEMO_CHANNEL", "DEMO_HOTELS", "DemoLogin", "DemoLogins", "seed_demo"]

DEMO_CHANNEL: Final = "demo"
DEV_BOT_TOKEN_NAME: Final = "begasist dev"
"""The name of the bot tokens seeding makes; each run replaces the previous run's."""


@dataclass(frozen=True)
class DemoHotel:
    slug: str
    name: str
    mode: ReplyMode
    default_language: str
    guest_interval_seconds: float
    guests: tuple[tuple[str, str], ...]
    """(address, name) of the demo channel's simulated guests."""


DEMO_HOTELS: Final = (
    DemoHotel(
        "plaza",
        "Hotel Plaza",
        ReplyMode.AUTOMATIC,
        "en",
        5.0,
        (("+34600000001", "Ana Lopez"), ("+44700000002", "Ben Carter")),
    ),
    DemoHotel(
        "sol",
        "Hotel Sol",
        ReplyMode.SUPERVISED,
        "es",
        7.0,
        (("+34600000003", "Carmen Ruiz"), ("+33600000004", "Denis Martin")),
    ),
)


@dataclass(frozen=True)
class _DemoUser:
    email: str
    display_name: str
    description: str
    platform_admin: bool = False
    roles: Mapping[str, Role] = field(default_factory=dict)


_DEMO_USERS: Final = (
    _DemoUser("admin@begasist.test", "Demo Admin", "platform admin, every hotel", True),
    _DemoUser("staff@plaza.test", "Plaza Staff", "manager of plaza", roles={"plaza": Role.MANAGER}),
    _DemoUser("staff@sol.test", "Sol Staff", "manager of sol", roles={"sol": Role.MANAGER}),
)

DEMO_FAQ: Final = (
    FaqEntry(
        intent="breakfast",
        keywords={"en": ("breakfast",), "es": ("desayuno",)},
        answers={
            "en": "Breakfast is served from 7:00 to 10:30 in the restaurant and is included "
            "in every room rate.",
            "es": "El desayuno se sirve de 7:00 a 10:30 en el restaurante y está incluido "
            "en todas las tarifas.",
        },
    ),
    FaqEntry(
        intent="wifi",
        keywords={"en": ("wifi", "wi-fi", "internet"), "es": ("wifi", "internet")},
        answers={
            "en": "Wi-Fi is free everywhere: network HotelGuest, the password is on your key card.",
            "es": "El wifi es gratuito en todo el hotel: red HotelGuest, la contraseña está "
            "en su tarjeta.",
        },
    ),
    FaqEntry(
        intent="parking",
        keywords={"en": ("parking", "car park", "garage"), "es": ("aparcamiento", "parking")},
        answers={
            "en": "We have an underground car park at 18 EUR a night; no booking needed.",
            "es": "Tenemos aparcamiento subterráneo por 18 EUR la noche; no hace falta reservar.",
        },
    ),
    FaqEntry(
        intent="check-in-out",
        keywords={
            "en": ("check-in", "check-out", "check in", "check out"),
            "es": ("entrada", "salida", "check-in", "check-out"),
        },
        answers={
            "en": "Check-in is from 15:00 and check-out until 12:00. Late arrivals are fine: "
            "reception is open 24 hours.",
            "es": "La entrada es a partir de las 15:00 y la salida hasta las 12:00. La "
            "recepción abre 24 horas.",
        },
    ),
    FaqEntry(
        intent="pets",
        keywords={"en": ("pet", "dog", "cat"), "es": ("mascota", "perro", "gato")},
        answers={
            "en": "Pets up to 10 kg are welcome for 15 EUR a night; please tell us in advance.",
            "es": "Admitimos mascotas de hasta 10 kg por 15 EUR la noche; avísenos con antelación.",
        },
    ),
)

DEMO_FALLBACK: Final = {
    "en": "Thank you for your message: a member of our team will answer shortly.",
    "es": "Gracias por su mensaje: una persona de nuestro equipo le responderá en breve.",
}


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    description: str


@dataclass(frozen=True)
class DemoLogins:
    """What seeding made that a person or a bot needs: logins and per-hotel bot tokens."""

    users: tuple[DemoLogin, ...]
    bot_tokens: Mapping[str, str]
    """Hotel -> a fresh bot token (earlier seeding runs' tokens are revoked)."""

    @property
    def passwords(self) -> dict[str, str]:
        return {login.email: login.password for login in self.users}


async def seed_demo(
    store: Store,
    secret_box: SecretBox,
    *,
    plugins: PluginManager | None = None,
    passwords: Mapping[str, str] | None = None,
) -> DemoLogins:
    """Make the demo hotels, users, channel settings, FAQ and bot tokens; safe to run again.

    What exists is kept (an FAQ staff edited, the channel settings), except
    that each user gets the password in *passwords* (a new random one when
    absent) and each hotel a fresh bot token. Channel settings whose secrets no
    longer decrypt (the secret key changed) are written anew.
    """
    if plugins is None:
        from begasist_suite.app import load_plugins

        plugins = load_plugins()
    settings_model = plugins.channel(DEMO_CHANNEL).Settings
    tokens: dict[str, str] = {}
    for demo in DEMO_HOTELS:
        hotel = await store.get_hotel(demo.slug)
        if hotel is None:
            hotel = await store.create_hotel(
                Hotel(slug=demo.slug, name=demo.name, default_language=demo.default_language)
            )
        if not hotel.faq:
            await store.update_hotel(
                demo.slug,
                faq=tuple(entry.model_dump(mode="json") for entry in DEMO_FAQ),
                fallback=dict(DEMO_FALLBACK),
            )
        stored = await store.get_channel_config(demo.slug, DEMO_CHANNEL)
        if stored is None or not _decrypts(stored.secrets, secret_box):
            body = {
                "enabled": True,
                "mode": demo.mode.value,
                "webhook_secret": secrets.token_urlsafe(24),
                "simulated_guest_interval_seconds": demo.guest_interval_seconds,
                "guests": [{"address": a, "name": n} for a, n in demo.guests],
            }
            config = apply_settings_update(
                settings_model, demo.slug, DEMO_CHANNEL, body, None, secret_box
            )
            await store.put_channel_config(config)
            await store.bump_config_version(demo.slug)
        tokens[demo.slug] = await _fresh_bot_token(store, demo.slug)
    logins = [
        await _seed_user(store, user, (passwords or {}).get(user.email)) for user in _DEMO_USERS
    ]
    return DemoLogins(users=tuple(logins), bot_tokens=tokens)


def _decrypts(stored_secrets: Mapping[str, str], box: SecretBox) -> bool:
    try:
        for value in stored_secrets.values():
            box.decrypt(value)
    except UndecryptableSecret:
        return False
    return True


async def _fresh_bot_token(store: Store, hotel: str) -> str:
    for old in await store.list_credentials(CredentialKind.BOT_TOKEN, hotel=hotel):
        if old.name == DEV_BOT_TOKEN_NAME:
            await store.delete_credential(old.digest)
    secret = new_secret("bot_token")
    await store.add_credential(
        Credential(
            digest=digest(secret),
            kind=CredentialKind.BOT_TOKEN,
            hotel=hotel,
            name=DEV_BOT_TOKEN_NAME,
        )
    )
    return secret


async def _seed_user(store: Store, demo: _DemoUser, password: str | None) -> DemoLogin:
    password = password or secrets.token_urlsafe(12)
    user = await store.get_user_by_email(demo.email)
    if user is None:
        user = await store.create_user(
            User(
                email=demo.email,
                display_name=demo.display_name,
                password_hash=hash_password(password),
                platform_admin=demo.platform_admin,
            )
        )
    elif user.disabled or not verify_password(user.password_hash, password):
        user = await store.update_user(
            user.model_copy(update={"password_hash": hash_password(password), "disabled": False})
        )
    for hotel, role in demo.roles.items():
        await store.set_membership(Membership(hotel=hotel, user_id=user.id, role=role))
    return DemoLogin(email=demo.email, password=password, description=demo.description)
