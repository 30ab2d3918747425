"""The template picker offers no template Meta rejected or paused, and no marketing one to
a guest who stopped marketing messages; both learnt from events through the consumer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from begasist_core import GuestIdentity, GuestPreferenceChanged, TemplateStatusChanged, utc_now

from tests.suite.api.seed import SeededHotel, personal_token, seed_hotel
from tests.suite.conftest import RunningSuite
from tests.suite.inbox.conftest import consumed, dead_letters, publish
from tests.suite.web.conftest import sign_in
from tests.suite.web.test_conversation_panel import guest_wrote, page_of, whatsapp_settings

pytestmark = pytest.mark.anyio

TEMPLATES = [
    {"name": "booking_follow_up", "language": "es", "body_parameters": 1, "category": "utility"},
    {"name": "spring_offer", "language": "es", "category": "marketing"},
    {"name": "welcome_back", "language": "en_US"},
]
GUEST = "+34600000077"


@pytest.fixture
async def plaza(suite: RunningSuite) -> SeededHotel:
    return await seed_hotel(suite, "plaza")


def offered(page: str) -> list[str]:
    return [
        name
        for name in ("booking_follow_up:es", "spring_offer:es", "welcome_back:en_US")
        if f'value="{name}"' in page
    ]


async def test_statuses_and_opt_outs_narrow_the_picker(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    await whatsapp_settings(suite, message_templates=TEMPLATES)
    conversation = await guest_wrote(suite, 27, address=GUEST)
    now = utc_now()

    async def picker() -> list[str]:
        async with suite.client() as client:
            await sign_in(client, "agent@plaza.test")
            return offered((await client.get(page_of(conversation))).text)

    assert await picker() == ["booking_follow_up:es", "spring_offer:es", "welcome_back:en_US"]
    await publish(
        suite,
        TemplateStatusChanged(
            channel="whatsapp", name="welcome_back", language="en_US", status="rejected", at=now
        ),
    )
    # An older word, delivered late, does not undo the newer one.
    await publish(
        suite,
        TemplateStatusChanged(
            channel="whatsapp",
            name="welcome_back",
            language="en_US",
            status="approved",
            at=now - timedelta(hours=1),
        ),
    )
    guest = GuestIdentity(channel="whatsapp", address=GUEST)
    await publish(
        suite,
        GuestPreferenceChanged(
            channel="whatsapp", guest=guest, topic="marketing", opted_out=True, at=now
        ),
    )
    await consumed(suite)
    assert await picker() == ["booking_follow_up:es"]
    # (the seeded hotel's own reply has no bot to take it: only the events stream matters)
    assert [
        d for d in await dead_letters(suite) if d[1][b"source_stream"].endswith(b":events")
    ] == []

    # Meta recategorises the utility template as marketing: gone for this guest too.
    await publish(
        suite,
        TemplateStatusChanged(
            channel="whatsapp",
            name="booking_follow_up",
            language="es",
            category="marketing",
            at=now + timedelta(minutes=1),
        ),
    )
    await consumed(suite)
    assert await picker() == []

    # The guest resumes marketing messages: the marketing templates come back.
    await publish(
        suite,
        GuestPreferenceChanged(
            channel="whatsapp",
            guest=guest,
            topic="marketing",
            opted_out=False,
            at=now + timedelta(minutes=2),
        ),
    )
    await consumed(suite)
    assert await picker() == ["booking_follow_up:es", "spring_offer:es"]
    # The guest, with the preference kept on their identity, still reads back whole.
    guests = (await suite.store.list_guests("plaza")).items
    assert [g for g in guests if [i.address for i in g.identities] == [GUEST]]


async def test_the_api_refuses_a_refused_or_marketing_template(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    await whatsapp_settings(suite, message_templates=TEMPLATES)
    conversation = await guest_wrote(suite, 27, address=GUEST)
    now = utc_now()
    await publish(
        suite,
        TemplateStatusChanged(
            channel="whatsapp", name="welcome_back", language="en_US", status="paused", at=now
        ),
    )
    await publish(
        suite,
        GuestPreferenceChanged(
            channel="whatsapp",
            guest=GuestIdentity(channel="whatsapp", address=GUEST),
            topic="marketing",
            opted_out=True,
            at=now,
        ),
    )
    await consumed(suite)
    token = await personal_token(suite, "agent@plaza.test")
    path = f"/api/v1/hotels/plaza/conversations/{conversation.id}/messages"
    async with suite.client(headers={"Authorization": f"Bearer {token}"}) as client:
        answers = {
            name: await client.post(
                path,
                json={"text": f"[{name}]", "template": {"name": name, "language": language}},
            )
            for name, language in (
                ("welcome_back", "en_US"),
                ("spring_offer", "es"),
                ("booking_follow_up", "es"),
            )
        }
    assert answers["welcome_back"].status_code == 422
    assert "paused" in answers["welcome_back"].json()["detail"]
    assert answers["spring_offer"].status_code == 422
    assert "stopped marketing" in answers["spring_offer"].json()["detail"]
    assert answers["booking_follow_up"].status_code == 202, answers["booking_follow_up"].text
