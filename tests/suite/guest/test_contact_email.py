"""The email a guest leaves in the pre-chat form, through the real guest socket."""

from __future__ import annotations

import json

import httpx
import pytest
from begasist_core import GUEST_CLOSE_BAD_FRAME, GuestIdentity

from tests.suite.conftest import RunningSuite
from tests.suite.guest.conftest import HOTEL, guest, hello, next_frame
from tests.suite.guest.test_socket import closed_with, nothing_stored

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

KNOWN = GuestIdentity(channel="email", address="ana@example.com", display_name="Ana García")


async def test_the_email_is_recorded_on_the_visitors_guest_as_an_unproven_contact(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    known = await suite.store.guest_for_identity(HOTEL, KNOWN)

    async with guest(suite) as socket:
        session = await hello(socket, name="Ana", email="ana@example.com")
        assert session["type"] == "session"
        assert await next_frame(socket) == {"type": "history", "messages": []}
        # A reconnect sends it again: still one contact.
    async with guest(suite) as socket:
        await hello(
            socket,
            visitor=session["visitor"],
            token=session["token"],
            name="Ana",
            email="ana@example.com",
        )

    guests = {g.id: g for g in (await suite.store.list_guests(HOTEL)).items}
    [visitor] = [g for g in guests.values() if g.id != known.id]
    assert [(i.channel, i.address) for i in visitor.identities] == [("webchat", session["visitor"])]
    assert [(c.channel, c.address) for c in visitor.contacts] == [("email", "ana@example.com")]
    # Typing someone's address links the visitor to no one, and gives nothing of theirs.
    assert guests[known.id].identities == (KNOWN,)
    assert (await suite.store.guest_for_identity(HOTEL, KNOWN)).id == known.id


@pytest.mark.parametrize(
    "email", ["ana", "Ana <ana@example.com>", "ana@example.com, bob@example.com", "a@b"]
)
async def test_a_malformed_email_is_refused_and_stores_nothing(
    suite: RunningSuite, admin: httpx.AsyncClient, email: str
) -> None:
    async with guest(suite) as socket:
        await socket.send(json.dumps({"type": "hello", "name": "Ana", "email": email}))
        assert await closed_with(socket) == (GUEST_CLOSE_BAD_FRAME, "email address not valid")
    await nothing_stored(suite)
    assert (await suite.store.list_guests(HOTEL)).items == []
