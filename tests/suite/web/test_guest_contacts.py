"""The guest pane shows the addresses a guest left unproven apart from their identities."""

from __future__ import annotations

import pytest
from begasist_core import GuestIdentity

from tests.suite.api.seed import seed_hotel
from tests.suite.conftest import RunningSuite
from tests.suite.web.conftest import sign_in

pytestmark = pytest.mark.anyio


async def test_a_contact_shows_as_not_verified_in_the_guest_pane(suite: RunningSuite) -> None:
    plaza = await seed_hotel(suite, "plaza")
    here = f"/hotels/plaza/conversations/{plaza.conversation.id}"
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        before = await client.get(here)
        await suite.store.add_guest_contact(
            "plaza",
            plaza.guest.identities[0],
            GuestIdentity(channel="email", address="ana@guest.example"),
        )
        after = await client.get(here)
        client.cookies.set("begasist_lang", "es")
        spanish = await client.get(here)

    assert "Left us (not verified)" not in before.text
    pane = after.text.split('class="pane guest-pane"', 1)[1]
    reaches, left = pane.split("Left us (not verified)", 1)
    assert "ana@guest.example" not in reaches
    assert "<li>email: ana@guest.example</li>" in left
    assert "Nos dejó (sin verificar)" in spanish.text
