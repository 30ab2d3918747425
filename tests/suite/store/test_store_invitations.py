"""The store's contract for invitations, on every backend: taken once, revoked, expired."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import anyio
import pytest
from begasist_core import utc_now
from begasist_suite.store.documents import DocumentDatabase
from begasist_suite.store.records import (
    CredentialKind,
    Hotel,
    Invitation,
    InvitationState,
    Role,
)
from begasist_suite.store.store import Store

pytestmark = pytest.mark.anyio


@pytest.fixture
async def store(database: DocumentDatabase) -> Store:
    store = Store(database)
    for slug in ("plaza", "sol"):
        await store.create_hotel(Hotel(slug=slug, name=slug.title()))
    return store


def invitation(secret: str, hotel: str = "plaza", *, hours: float = 72) -> Invitation:
    return Invitation(
        digest=hashlib.sha256(secret.encode()).hexdigest(),
        hotel=hotel,
        email=f"{secret}@example.test",
        role=Role.AGENT,
        invited_by="owner-id",
        expires_at=utc_now() + timedelta(hours=hours),
    )


async def test_an_invitation_is_taken_once_even_by_two_at_once(store: Store) -> None:
    stored = await store.add_invitation(invitation("ana"))
    assert await store.list_invitations("plaza") == [stored]
    taken: list[Invitation | None] = []

    async def take(user: str) -> None:
        taken.append(await store.take_invitation(stored.digest, user))

    async with anyio.create_task_group() as tasks:
        for user in ("u1", "u2"):
            tasks.start_soon(take, user)
    [won] = [t for t in taken if t is not None]
    assert won.state is InvitationState.ACCEPTED
    found = await store.get_invitation(stored.digest)
    assert found is not None
    assert (found.state, found.accepted_by) == (InvitationState.ACCEPTED, won.accepted_by)
    assert await store.list_invitations("plaza") == []
    assert await store.take_invitation(stored.digest, "u3") is None


async def test_a_revoked_or_expired_invitation_cannot_be_taken(store: Store) -> None:
    revoked = await store.add_invitation(invitation("bea"))
    expired = await store.add_invitation(invitation("cai", hours=-1))
    assert await store.list_invitations("plaza") == [revoked]
    assert not await store.revoke_invitation("sol", revoked.id)  # another hotel's id
    assert await store.revoke_invitation("plaza", revoked.id)
    assert not await store.revoke_invitation("plaza", revoked.id)
    for stored in (revoked, expired):
        assert await store.take_invitation(stored.digest, "u1") is None
    found = await store.get_invitation(revoked.digest)
    assert found is not None
    assert found.state is InvitationState.REVOKED


async def test_a_failed_acceptance_gives_the_invitation_back(store: Store) -> None:
    stored = await store.add_invitation(invitation("dan"))
    assert await store.take_invitation(stored.digest, "u1") is not None
    await store.give_back_invitation(stored.digest)
    assert await store.list_invitations("plaza") == [stored]


async def test_invitations_are_no_credentials_and_go_with_their_hotel(store: Store) -> None:
    stored = await store.add_invitation(invitation("eva", "sol"))
    assert await store.get_credential(stored.digest) is None
    for kind in CredentialKind:
        assert await store.list_credentials(kind, hotel="sol") == []
    await store.delete_hotel("sol")
    assert await store.get_invitation(stored.digest) is None
