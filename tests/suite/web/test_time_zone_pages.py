"""The hotel's time zone in the web app: set on the Assistant page, used by every time shown."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from begasist_suite.store.records import Membership, Role
from begasist_suite.web.i18n import language

from tests.suite.api.seed import SeededHotel, seed_hotel
from tests.suite.conftest import RunningSuite
from tests.suite.web.conftest import post_form, sign_in

pytestmark = pytest.mark.anyio

ASSISTANT = "/hotels/plaza/assistant"
KOLKATA = "Asia/Kolkata"
"""Half an hour off every whole-hour zone: a time shown in UTC cannot pass for it."""


@pytest.fixture
async def plaza(suite: RunningSuite) -> SeededHotel:
    return await seed_hotel(suite, "plaza")


async def test_a_manager_sets_the_time_zone_on_the_assistant_page(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    async with suite.client() as agent:
        await sign_in(agent, "agent@plaza.test")
        refused = await post_form(
            agent, "/hotels/plaza/inbox", ASSISTANT, responder="faq", timezone=KOLKATA
        )
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        page = await client.get(ASSISTANT)
        saved = await post_form(
            client,
            ASSISTANT,
            ASSISTANT,
            responder="faq",
            default_language="en",
            timezone="Europe/Madrid",
        )
        wrong = await post_form(
            client,
            ASSISTANT,
            ASSISTANT,
            responder="faq",
            default_language="en",
            timezone="Europe/Atlantis",
        )
        spanish = await post_form(client, ASSISTANT, "/language", lang="es", next=ASSISTANT)
        wrong_es = await post_form(
            client, ASSISTANT, ASSISTANT, responder="faq", default_language="en", timezone="Nada"
        )
    assert refused.status_code == 403
    assert 'name="timezone" value="UTC"' in page.text
    assert '<option value="Europe/Madrid">' in page.text
    assert saved.status_code == 303
    assert wrong.status_code == 422
    assert "Not a time zone: choose one of the list, such as Europe/Madrid." in wrong.text
    assert spanish.status_code == 303
    assert wrong_es.status_code == 422
    assert (
        language("es").gettext("Not a time zone: choose one of the list, such as Europe/Madrid.")
        in wrong_es.text
    )
    hotel = await suite.store.get_hotel("plaza")
    assert hotel is not None
    assert hotel.timezone == "Europe/Madrid"


async def test_the_pages_show_times_in_the_hotels_zone(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    await suite.store.update_hotel("plaza", timezone=KOLKATA)
    sol_hotel = await seed_hotel(suite, "sol")  # a UTC hotel, for the same person
    manager = plaza.members[Role.MANAGER]
    await suite.store.set_membership(Membership(hotel="sol", user_id=manager.id, role=Role.MANAGER))
    english = language("en")
    sent_at = plaza.message.created_at
    local = english.date_time(sent_at, ZoneInfo(KOLKATA))
    in_utc = english.date_time(sent_at, ZoneInfo("UTC"))
    assert local != in_utc
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        thread = await client.get(f"/hotels/plaza/conversations/{plaza.conversation.id}")
        inbox = await client.get("/hotels/plaza/inbox")
        operations = await client.get("/hotels/plaza/operations")
        sol = await client.get(f"/hotels/sol/conversations/{sol_hotel.conversation.id}")
    assert thread.status_code == inbox.status_code == operations.status_code == 200
    assert f">{local}</time>" in thread.text
    assert in_utc not in thread.text
    assert f"{KOLKATA}" in thread.text  # the zone, in the time's title
    assert f"{local} IST" in inbox.text  # the row's title: the time and its zone
    assert " IST</time>" in operations.text  # the dead letter's time names its zone
    sol_time = english.date_time(sol_hotel.message.created_at, ZoneInfo("UTC"))
    assert f">{sol_time}</time>" in sol.text


async def test_a_manager_renames_the_hotel_on_the_assistant_page(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        page = await client.get(ASSISTANT)
        saved = await post_form(
            client,
            ASSISTANT,
            ASSISTANT,
            name=" Plaza Mayor ",
            responder="faq",
            default_language="en",
        )
        empty = await post_form(
            client, ASSISTANT, ASSISTANT, name="", responder="faq", default_language="en"
        )
        inbox = await client.get("/hotels/plaza/inbox")
    assert 'name="name" value="Plaza"' in page.text
    assert saved.status_code == 303
    assert empty.status_code == 422
    assert "Plaza Mayor" in inbox.text
    hotel = await suite.store.get_hotel("plaza")
    assert hotel is not None
    assert hotel.name == "Plaza Mayor"
