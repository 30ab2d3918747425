"""The guest pane's forms: any member renames a guest and records another address of theirs."""

from __future__ import annotations

import pytest

from tests.suite.api.seed import SeededHotel, seed_hotel
from tests.suite.conftest import RunningSuite
from tests.suite.web.conftest import post_form, sign_in

pytestmark = pytest.mark.anyio


@pytest.fixture
async def plaza(suite: RunningSuite) -> SeededHotel:
    return await seed_hotel(suite, "plaza")


async def test_an_agent_renames_the_guest_and_adds_an_address(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    here = f"/hotels/plaza/conversations/{plaza.conversation.id}"
    guest = f"/hotels/plaza/guests/{plaza.guest.id}"
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        before = await client.get(here)
        renamed = await post_form(
            client, here, f"{guest}/name", display_name=" Ana Ruiz ", back=here
        )
        linked = await post_form(
            client,
            here,
            f"{guest}/identities",
            channel="email",
            address="ana@example.com",
            back=here,
        )
        after = await client.get(here)
        too_long = await post_form(client, here, f"{guest}/name", display_name="x" * 201)
        no_address = await post_form(
            client, here, f"{guest}/identities", channel="email", address=""
        )
        bad_channel = await post_form(
            client, here, f"{guest}/identities", channel="No Such!", address="a@b.c"
        )
        elsewhere = await post_form(
            client, here, f"{guest}/name", display_name="Evil", back="https://evil.example/"
        )
    assert f'action="{guest}/name"' in before.text
    assert (renamed.status_code, renamed.headers["location"]) == (303, here)
    assert linked.status_code == 303
    assert '<h1 id="thread-title">Ana Ruiz</h1>' in after.text
    assert "email: ana@example.com" in after.text
    assert (too_long.status_code, no_address.status_code, bad_channel.status_code) == (
        400,
        400,
        400,
    )
    assert elsewhere.headers["location"] == "/hotels/plaza/inbox"
    stored = await suite.store.get_guest("plaza", plaza.guest.id)
    assert stored is not None
    assert stored.display_name == "Evil"
    assert ("email", "ana@example.com") in {(i.channel, i.address) for i in stored.identities}


async def test_another_hotels_guest_is_not_found_and_unchanged(suite: RunningSuite) -> None:
    await seed_hotel(suite, "plaza")
    sol = await seed_hotel(suite, "sol")
    async with suite.client() as client:
        await sign_in(client, "owner@plaza.test")
        here = "/hotels/plaza/inbox"
        renamed = await post_form(
            client, here, f"/hotels/plaza/guests/{sol.guest.id}/name", display_name="Mine now"
        )
        linked = await post_form(
            client,
            here,
            f"/hotels/plaza/guests/{sol.guest.id}/identities",
            channel="email",
            address="x@example.com",
        )
        across = await post_form(
            client, here, f"/hotels/sol/guests/{sol.guest.id}/name", display_name="Mine now"
        )
    assert (renamed.status_code, linked.status_code, across.status_code) == (404, 404, 404)
    stored = await suite.store.get_guest("sol", sol.guest.id)
    assert stored is not None
    assert stored.display_name != "Mine now"
    assert len(stored.identities) == len(sol.guest.identities)
