"""The store's contract for hotels, people, credentials and settings, on every backend."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import anyio
import pytest
from begasist_core import ChannelState, FaqEntry, GuestIdentity, ReplyMode, utc_now
from begasist_suite.store.documents import DocumentDatabase
from begasist_suite.store.records import (
    ChannelConfig,
    ChannelStatus,
    Credential,
    CredentialKind,
    Hotel,
    Membership,
    Role,
    User,
)
from begasist_suite.store.store import Conflict, NotFound, Store
from pydantic import ValidationError

pytestmark = pytest.mark.anyio

PLAZA = "plaza"
SOL = "sol"


@pytest.fixture
def store(database: DocumentDatabase) -> Store:
    return Store(database)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _whatsapp(number: str) -> GuestIdentity:
    return GuestIdentity(channel="whatsapp", address=number)


# -- hotels -------------------------------------------------------------------


async def test_a_hotel_round_trips_and_its_slug_is_unique(store: Store) -> None:
    wifi = FaqEntry(intent="wifi", keywords={"en": ("wifi",)}, answers={"en": "It is free."})
    plaza = Hotel(slug=PLAZA, name="Plaza", faq=(wifi,))
    assert await store.create_hotel(plaza) == plaza
    assert await store.get_hotel(PLAZA) == plaza
    with pytest.raises(Conflict):
        await store.create_hotel(Hotel(slug=PLAZA, name="Another Plaza"))
    assert await store.get_hotel(PLAZA) == plaza
    assert await store.get_hotel("nowhere") is None


async def test_hotels_are_listed_by_slug_all_or_a_subset(store: Store) -> None:
    for slug in ("sol", "alba", "plaza"):
        await store.create_hotel(Hotel(slug=slug, name=slug.title()))
    assert [h.slug for h in await store.list_hotels()] == ["alba", "plaza", "sol"]
    assert [h.slug for h in await store.list_hotels({"sol", "plaza", "gone"})] == ["plaza", "sol"]
    assert await store.list_hotels([]) == []


async def test_update_hotel_sets_the_given_fields_only(store: Store) -> None:
    await store.create_hotel(Hotel(slug=PLAZA, name="Plaza"))
    updated = await store.update_hotel(
        PLAZA, name="Plaza Mayor", fallback={"es": "Ahora le atiende una persona."}
    )
    assert updated.name == "Plaza Mayor"
    assert updated.fallback == {"es": "Ahora le atiende una persona."}
    assert updated.responder == "faq"
    assert await store.get_hotel(PLAZA) == updated
    with pytest.raises(NotFound):
        await store.update_hotel("nowhere", name="Nowhere")


async def test_the_hotel_time_zone_is_utc_until_set_and_then_kept(store: Store) -> None:
    created = await store.create_hotel(Hotel(slug=PLAZA, name="Plaza"))
    assert created.timezone == "UTC"
    await store.update_hotel(PLAZA, timezone="Atlantic/Canary")
    stored = await store.get_hotel(PLAZA)
    assert stored is not None
    assert stored.timezone == "Atlantic/Canary"
    assert [h.timezone for h in await store.list_hotels([PLAZA])] == ["Atlantic/Canary"]


def test_a_hotel_time_zone_must_be_one_zoneinfo_knows() -> None:
    for name in ("Mars/Olympus", "../etc/passwd", "", "Europe/Madrid; drop"):
        with pytest.raises(ValidationError):
            Hotel(slug=PLAZA, name="Plaza", timezone=name)
    assert Hotel(slug=PLAZA, name="Plaza", timezone="America/Argentina/Buenos_Aires")


async def test_concurrent_config_version_bumps_are_all_counted(store: Store) -> None:
    await store.create_hotel(Hotel(slug=PLAZA, name="Plaza"))
    versions: list[int] = []

    async def bump() -> None:
        versions.append(await store.bump_config_version(PLAZA))

    async with anyio.create_task_group() as tasks:
        for _ in range(20):
            tasks.start_soon(bump)
    assert sorted(versions) == list(range(1, 21))
    hotel = await store.get_hotel(PLAZA)
    assert hotel is not None
    assert hotel.config_version == 20
    with pytest.raises(NotFound):
        await store.bump_config_version("nowhere")


# -- users and memberships ----------------------------------------------------


async def test_user_emails_are_unique_whatever_their_case(store: Store) -> None:
    ana = await store.create_user(User(email="Ana@Example.com", display_name="Ana"))
    assert ana.email == "ana@example.com"
    with pytest.raises(Conflict):
        await store.create_user(User(email="ANA@example.COM"))
    assert [u.id for u in await store.list_users()] == [ana.id]


async def test_a_user_is_found_by_id_and_by_email_in_any_case(store: Store) -> None:
    ana = await store.create_user(User(email="ana@example.com", password_hash="$argon2id$x"))
    bea = await store.create_user(User(email="bea@example.com"))
    assert await store.get_user(ana.id) == ana
    assert await store.get_user_by_email("Ana@EXAMPLE.com") == ana
    assert await store.get_user("missing") is None
    assert await store.get_user_by_email("nobody@example.com") is None
    assert await store.list_users() == [ana, bea]


async def test_get_users_finds_many_by_id_in_batches(store: Store) -> None:
    # More than one $in can hold (Astra takes 100 values), unknown ids left out.
    users = [await store.create_user(User(email=f"u{n}@example.com")) for n in range(105)]
    found = await store.get_users([u.id for u in users] + ["missing", users[0].id])
    assert found == {u.id: u for u in users}
    assert await store.get_users([]) == {}


async def _pages(fetch: Any) -> list[list[str]]:
    """Every page *fetch(cursor)* answers, as lists of ids, until the last."""
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        page = await fetch(cursor)
        pages.append(page)
        if page.next_cursor is None:
            return [[_key(item) for item in p.items] for p in pages]
        cursor = page.next_cursor


def _key(item: Any) -> str:
    if isinstance(item, Hotel):
        return item.slug
    if isinstance(item, Membership):
        return f"{item.hotel}/{item.user_id}"
    return str(item.name)


async def test_hotels_members_and_tokens_are_paged(store: Store) -> None:
    for slug in ("delta", "alba", "cielo", "bahia", "eden"):
        await store.create_hotel(Hotel(slug=slug, name=slug.title()))
    assert await _pages(lambda c: store.page_hotels(limit=2, cursor=c)) == [
        ["alba", "bahia"],
        ["cielo", "delta"],
        ["eden"],
    ]
    for user in ("u3", "u1", "u2"):
        await store.set_membership(Membership(hotel="alba", user_id=user, role=Role.AGENT))
    for hotel in ("eden", "bahia", "cielo"):
        await store.set_membership(Membership(hotel=hotel, user_id="u1", role=Role.AGENT))
    assert await _pages(lambda c: store.page_memberships(hotel="alba", limit=2, cursor=c)) == [
        ["alba/u1", "alba/u2"],
        ["alba/u3"],
    ]
    assert await _pages(lambda c: store.page_memberships(user_id="u1", limit=3, cursor=c)) == [
        ["alba/u1", "bahia/u1", "cielo/u1"],
        ["eden/u1"],
    ]
    with pytest.raises(ValueError, match="a hotel or of a user"):
        await store.page_memberships()
    for n in range(3):
        await store.add_credential(
            Credential(
                digest=_digest(f"bot-{n}"),
                kind=CredentialKind.BOT_TOKEN,
                hotel="alba",
                name=f"b{n}",
            )
        )
    await store.add_credential(
        Credential(digest=_digest("other"), kind=CredentialKind.BOT_TOKEN, hotel="eden", name="x")
    )
    assert await _pages(
        lambda c: store.page_credentials(CredentialKind.BOT_TOKEN, hotel="alba", limit=2, cursor=c)
    ) == [["b0", "b1"], ["b2"]]


async def test_update_user_replaces_the_stored_user(store: Store) -> None:
    ana = await store.create_user(User(email="ana@example.com"))
    changed = ana.model_copy(update={"display_name": "Ana G.", "disabled": True})
    assert await store.update_user(changed) == changed
    assert await store.get_user(ana.id) == changed
    with pytest.raises(NotFound):
        await store.update_user(User(email="ghost@example.com"))


async def test_set_membership_inserts_then_changes_the_role(store: Store) -> None:
    await store.set_membership(Membership(hotel=PLAZA, user_id="u1", role=Role.AGENT))
    assert await store.get_membership(PLAZA, "u1") == Membership(
        hotel=PLAZA, user_id="u1", role=Role.AGENT
    )
    await store.set_membership(Membership(hotel=PLAZA, user_id="u1", role=Role.OWNER))
    found = await store.get_membership(PLAZA, "u1")
    assert found is not None
    assert found.role is Role.OWNER
    assert len(await store.list_memberships(hotel=PLAZA)) == 1


async def test_memberships_are_listed_by_hotel_or_by_user(store: Store) -> None:
    for hotel, user_id in ((SOL, "u1"), (PLAZA, "u2"), (PLAZA, "u1")):
        await store.set_membership(Membership(hotel=hotel, user_id=user_id, role=Role.AGENT))
    by_hotel = await store.list_memberships(hotel=PLAZA)
    assert [(m.hotel, m.user_id) for m in by_hotel] == [(PLAZA, "u1"), (PLAZA, "u2")]
    by_user = await store.list_memberships(user_id="u1")
    assert [(m.hotel, m.user_id) for m in by_user] == [(PLAZA, "u1"), (SOL, "u1")]
    assert len(await store.list_memberships()) == 3


async def test_remove_membership(store: Store) -> None:
    await store.set_membership(Membership(hotel=PLAZA, user_id="u1", role=Role.AGENT))
    await store.set_membership(Membership(hotel=SOL, user_id="u1", role=Role.AGENT))
    assert await store.remove_membership(PLAZA, "u1") is True
    assert await store.get_membership(PLAZA, "u1") is None
    assert await store.remove_membership(PLAZA, "u1") is False
    assert await store.get_membership(SOL, "u1") is not None


# -- sessions and tokens ------------------------------------------------------


async def test_a_credential_is_found_by_its_digest_until_it_expires(store: Store) -> None:
    live = Credential(
        digest=_digest("live"),
        kind=CredentialKind.SESSION,
        user_id="u1",
        csrf_token="csrf",
        expires_at=utc_now() + timedelta(hours=1),
    )
    expired = Credential(
        digest=_digest("old"),
        kind=CredentialKind.SESSION,
        user_id="u1",
        expires_at=utc_now() - timedelta(seconds=1),
    )
    forever = Credential(digest=_digest("api"), kind=CredentialKind.API_TOKEN, user_id="u1")
    for credential in (live, expired, forever):
        await store.add_credential(credential)
    assert await store.get_credential(live.digest) == live
    assert await store.get_credential(forever.digest) == forever
    assert await store.get_credential(expired.digest) is None
    assert await store.get_credential(_digest("unknown")) is None
    with pytest.raises(Conflict):
        await store.add_credential(live.model_copy(update={"user_id": "u2"}))


async def test_credentials_are_listed_by_kind_and_owner(store: Store) -> None:
    session = await store.add_credential(
        Credential(digest=_digest("s1"), kind=CredentialKind.SESSION, user_id="u1")
    )
    token = await store.add_credential(
        Credential(digest=_digest("t1"), kind=CredentialKind.API_TOKEN, user_id="u1")
    )
    await store.add_credential(
        Credential(digest=_digest("t2"), kind=CredentialKind.API_TOKEN, user_id="u2")
    )
    bot = await store.add_credential(
        Credential(digest=_digest("b1"), kind=CredentialKind.BOT_TOKEN, hotel=PLAZA)
    )
    await store.add_credential(
        Credential(digest=_digest("b2"), kind=CredentialKind.BOT_TOKEN, hotel=SOL)
    )
    assert await store.list_credentials(CredentialKind.SESSION, user_id="u1") == [session]
    assert await store.list_credentials(CredentialKind.API_TOKEN, user_id="u1") == [token]
    assert await store.list_credentials(CredentialKind.BOT_TOKEN, hotel=PLAZA) == [bot]
    assert len(await store.list_credentials(CredentialKind.API_TOKEN)) == 2


async def test_only_the_owner_revokes_a_credential_by_its_public_id(store: Store) -> None:
    token = await store.add_credential(
        Credential(digest=_digest("t1"), kind=CredentialKind.API_TOKEN, user_id="u1")
    )
    bot = await store.add_credential(
        Credential(digest=_digest("b1"), kind=CredentialKind.BOT_TOKEN, hotel=PLAZA)
    )
    assert await store.revoke_credential(CredentialKind.API_TOKEN, token.id, user_id="u2") is False
    assert await store.revoke_credential(CredentialKind.SESSION, token.id, user_id="u1") is False
    assert await store.revoke_credential(CredentialKind.BOT_TOKEN, bot.id, hotel=SOL) is False
    assert await store.get_credential(token.digest) == token
    assert await store.get_credential(bot.digest) == bot
    assert await store.revoke_credential(CredentialKind.API_TOKEN, token.id, user_id="u1") is True
    assert await store.revoke_credential(CredentialKind.BOT_TOKEN, bot.id, hotel=PLAZA) is True
    assert await store.get_credential(token.digest) is None
    assert await store.get_credential(bot.digest) is None
    assert await store.revoke_credential(CredentialKind.API_TOKEN, token.id, user_id="u1") is False


async def test_purge_expired_credentials_keeps_live_and_unexpiring_ones(store: Store) -> None:
    now = utc_now()
    for secret, expires_at in (
        ("old", now - timedelta(minutes=1)),
        ("older", now - timedelta(days=3)),
        ("live", now + timedelta(hours=1)),
        ("forever", None),
    ):
        await store.add_credential(
            Credential(
                digest=_digest(secret),
                kind=CredentialKind.SESSION,
                user_id="u1",
                expires_at=expires_at,
            )
        )
    assert await store.purge_expired_credentials() == 2
    remaining = await store.list_credentials(CredentialKind.SESSION, user_id="u1")
    assert {c.digest for c in remaining} == {_digest("live"), _digest("forever")}
    assert await store.purge_expired_credentials() == 0


# -- channel settings and states ----------------------------------------------


async def test_channel_configs_put_get_list_delete_per_hotel(store: Store) -> None:
    whatsapp = ChannelConfig(
        hotel=PLAZA, channel="whatsapp", settings={"mode": "supervised"}, secrets={"token": "c1"}
    )
    email = ChannelConfig(hotel=PLAZA, channel="email", settings={"enabled": False})
    sol_whatsapp = ChannelConfig(hotel=SOL, channel="whatsapp")
    for config in (whatsapp, email, sol_whatsapp):
        assert await store.put_channel_config(config) == config
    assert await store.get_channel_config(PLAZA, "whatsapp") == whatsapp
    assert await store.list_channel_configs(PLAZA) == [email, whatsapp]
    replaced = whatsapp.model_copy(update={"settings": {"mode": "automatic"}})
    await store.put_channel_config(replaced)
    assert await store.get_channel_config(PLAZA, "whatsapp") == replaced
    assert await store.delete_channel_config(PLAZA, "whatsapp") is True
    assert await store.delete_channel_config(PLAZA, "whatsapp") is False
    assert await store.get_channel_config(PLAZA, "whatsapp") is None
    assert await store.list_channel_configs(SOL) == [sol_whatsapp]
    assert await store.get_channel_config(SOL, "email") is None


async def test_channel_states_keep_the_last_report_per_channel(store: Store) -> None:
    await store.record_channel_state(
        ChannelStatus(hotel=PLAZA, channel="whatsapp", state=ChannelState.STARTING)
    )
    backoff = ChannelStatus(
        hotel=PLAZA, channel="whatsapp", state=ChannelState.BACKOFF, detail="boom", restarts=2
    )
    await store.record_channel_state(backoff)
    email = ChannelStatus(hotel=PLAZA, channel="email", state=ChannelState.RUNNING)
    await store.record_channel_state(email)
    sol = ChannelStatus(hotel=SOL, channel="whatsapp", state=ChannelState.PAIRING)
    await store.record_channel_state(sol)
    assert await store.list_channel_states(PLAZA) == [email, backoff]
    assert await store.list_channel_states(SOL) == [sol]
    assert await store.list_channel_states("nowhere") == []


# -- guests -------------------------------------------------------------------


async def test_the_same_identity_always_finds_the_same_guest(store: Store) -> None:
    identity = GuestIdentity(channel="whatsapp", address="+34600000001", display_name="Ana")
    first = await store.guest_for_identity(PLAZA, identity)
    again = await store.guest_for_identity(PLAZA, identity)
    assert again.id == first.id
    assert first.identities == again.identities == (identity,)
    assert first.display_name == "Ana"
    assert await store.get_guest(PLAZA, first.id) == again
    other_hotel = await store.guest_for_identity(SOL, identity)
    assert other_hotel.id != first.id


async def test_concurrent_first_sight_makes_one_guest(
    store: Store, database: DocumentDatabase
) -> None:
    guest_ids: list[str] = []

    async def see() -> None:
        guest = await store.guest_for_identity(PLAZA, _whatsapp("+34600000001"))
        guest_ids.append(guest.id)

    async with anyio.create_task_group() as tasks:
        for _ in range(10):
            tasks.start_soon(see)
    assert len(guest_ids) == 10
    assert len(set(guest_ids)) == 1
    guests = database.collection("guests")
    assert await guests.count({"hotel": PLAZA, "type": "identity"}) == 1
    assert await guests.count({"hotel": PLAZA, "type": "guest"}) == 1


async def test_update_guest_sets_and_clears_the_mode_override(store: Store) -> None:
    guest = await store.guest_for_identity(PLAZA, _whatsapp("+34600000001"))
    manual = await store.update_guest(PLAZA, guest.id, mode_override=ReplyMode.MANUAL)
    assert manual.mode_override is ReplyMode.MANUAL
    assert manual.identities == guest.identities
    assert await store.get_guest(PLAZA, guest.id) == manual
    cleared = await store.update_guest(PLAZA, guest.id, mode_override=None, display_name="Ana")
    assert (cleared.mode_override, cleared.display_name) == (None, "Ana")
    with pytest.raises(NotFound):
        await store.update_guest(PLAZA, "missing", display_name="Ghost")


async def test_link_identity_moves_an_identity_between_guests(store: Store) -> None:
    phone = _whatsapp("+34600000001")
    mail = GuestIdentity(channel="email", address="ana@example.com")
    ana = await store.guest_for_identity(PLAZA, phone)
    by_mail = await store.guest_for_identity(PLAZA, mail)
    linked = await store.link_identity(PLAZA, ana.id, mail)
    assert linked.identities == (mail, phone)
    left = await store.get_guest(PLAZA, by_mail.id)
    assert left is not None
    assert left.identities == ()
    assert (await store.guest_for_identity(PLAZA, mail)).id == ana.id
    with pytest.raises(NotFound):
        await store.link_identity(PLAZA, "missing", mail)


async def test_list_guests_pages_through_every_guest_once(store: Store) -> None:
    created = {
        (await store.guest_for_identity(PLAZA, _whatsapp(f"+3460000000{n}"))).id for n in range(7)
    }
    await store.guest_for_identity(SOL, _whatsapp("+34600000009"))
    sizes: list[int] = []
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = await store.list_guests(PLAZA, limit=3, cursor=cursor)
        sizes.append(len(page.items))
        seen.extend(guest.id for guest in page.items)
        assert all(len(guest.identities) == 1 for guest in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sizes == [3, 3, 1]
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == created


# -- tenant isolation ---------------------------------------------------------


async def test_another_hotels_people_and_settings_are_out_of_reach(store: Store) -> None:
    await store.set_membership(Membership(hotel=PLAZA, user_id="u1", role=Role.OWNER))
    await store.put_channel_config(ChannelConfig(hotel=PLAZA, channel="whatsapp"))
    phone = _whatsapp("+34600000001")
    guest = await store.guest_for_identity(PLAZA, phone)

    assert await store.get_membership(SOL, "u1") is None
    assert await store.remove_membership(SOL, "u1") is False
    assert await store.get_channel_config(SOL, "whatsapp") is None
    assert await store.delete_channel_config(SOL, "whatsapp") is False
    assert await store.get_guest(SOL, guest.id) is None
    with pytest.raises(NotFound):
        await store.update_guest(SOL, guest.id, mode_override=ReplyMode.MANUAL)
    with pytest.raises(NotFound):
        await store.link_identity(SOL, guest.id, phone)
    assert (await store.list_guests(SOL)).items == []

    assert await store.get_membership(PLAZA, "u1") is not None
    assert await store.get_channel_config(PLAZA, "whatsapp") is not None
    assert await store.get_guest(PLAZA, guest.id) == guest
