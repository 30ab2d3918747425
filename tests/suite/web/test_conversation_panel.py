"""The conversation page's reply window, template picker and reply modes, over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from begasist_core import (
    Capabilities,
    Channel,
    ChannelSettings,
    Direction,
    Message,
    ReplyMode,
    SendReceipt,
    StreamNames,
    hookimpl,
    utc_now,
)
from begasist_suite.app import create_app, load_plugins
from begasist_suite.channel_settings import apply_settings_update
from begasist_suite.config import SuiteSettings
from begasist_suite.store.records import ConversationRecord, Role
from begasist_suite.store.store import Store
from redis.asyncio import Redis

from tests.suite.api.seed import (
    SeededHotel,
    inbound_message,
    personal_token,
    seed_hotel,
    services,
)
from tests.suite.conftest import RunningSuite, serving
from tests.suite.web.conftest import post_form, sign_in

pytestmark = pytest.mark.anyio

TEMPLATES = [
    {"name": "booking_follow_up", "language": "es", "body_parameters": 1},
    {"name": "welcome_back", "language": "en_US"},
]


@pytest.fixture
async def plaza(suite: RunningSuite) -> SeededHotel:
    return await seed_hotel(suite, "plaza")


async def whatsapp_settings(suite: RunningSuite, **settings: Any) -> None:
    """The hotel's WhatsApp settings as the API stores them (the linked transport needs no
    Meta ids)."""
    found = services(suite)
    body = {"transport": "linked", **settings}
    config = apply_settings_update(
        found.plugins.channel("whatsapp").Settings,
        "plaza",
        "whatsapp",
        body,
        None,
        found.secret_box,
    )
    await suite.store.put_channel_config(config)


async def guest_wrote(
    suite: RunningSuite,
    hours_ago: float,
    *,
    channel: str = "whatsapp",
    provider_id: str = "wa-1",
    address: str = "+34600000077",
) -> ConversationRecord:
    """A conversation whose guest's last message is *hours_ago* old."""
    at = utc_now() - timedelta(hours=hours_ago)
    message = inbound_message(
        "plaza", provider_id, channel=channel, address=address, text="¿Hay parking?"
    ).model_copy(update={"created_at": at, "updated_at": at})
    return (await suite.store.record_inbound(message)).conversation


def page_of(conversation: ConversationRecord) -> str:
    return f"/hotels/plaza/conversations/{conversation.id}"


async def test_the_reply_box_follows_the_channels_reply_window(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    await whatsapp_settings(suite, message_templates=TEMPLATES)
    recent = await guest_wrote(suite, 2)
    old = await guest_wrote(suite, 25, provider_id="wa-2", address="+34600000078")
    by_email = await guest_wrote(suite, 24 * 30, channel="email", provider_id="<m1@x>")
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        open_page = await client.get(page_of(recent))
        closed_page = await client.get(page_of(old))
        email_page = await client.get(page_of(by_email))
        await guest_wrote(suite, 0.5, provider_id="wa-3", address="+34600000078")
        reopened = await client.get(page_of(old))
    assert 'id="reply-text" name="text"' in open_page.text
    assert "reply window" not in open_page.text
    assert 'id="reply-text" name="text"' not in closed_page.text
    assert "The reply window closed 1 hour ago." in closed_page.text
    assert 'id="reply-text" name="text"' in email_page.text  # email has no window
    assert 'id="reply-text" name="text"' in reopened.text  # the guest wrote again


async def test_a_closed_window_says_since_when_and_offers_the_templates(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    await whatsapp_settings(suite, message_templates=TEMPLATES)
    conversation = await guest_wrote(suite, 27)
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        english = await client.get(page_of(conversation))
        await post_form(client, page_of(conversation), "/language", lang="es", next="/")
        spanish = await client.get(page_of(conversation))
    assert "The reply window closed 3 hours ago." in english.text
    assert 'name="text"' not in english.text
    assert english.text.count('name="template"') == 2
    assert 'value="booking_follow_up:es"' in english.text
    assert english.text.count('name="parameter"') == 1
    assert "Send template welcome_back" in english.text
    assert "La ventana de respuesta se cerró hace 3 horas." in spanish.text
    assert "Enviar la plantilla booking_follow_up" in spanish.text


async def test_a_template_is_sent_and_free_text_refused_once_the_window_closed(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    await whatsapp_settings(suite, message_templates=TEMPLATES)
    conversation = await guest_wrote(suite, 30)
    here = page_of(conversation)
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        text = await post_form(client, here, f"{here}/reply", text="Hola, ¿sigue ahí?")
        unlisted = await post_form(client, here, f"{here}/template", template="promo:es")
        missing = await post_form(client, here, f"{here}/template", template="booking_follow_up:es")
        sent = await post_form(
            client,
            here,
            f"{here}/template",
            template="booking_follow_up:es",
            parameter="Ana",
            back=here,
        )
        after = await client.get(here)
    assert (text.status_code, unlisted.status_code, missing.status_code) == (422, 422, 422)
    assert "Not sent" in text.text
    assert (sent.status_code, sent.headers["location"]) == (303, here)
    messages = (await suite.store.list_messages("plaza", conversation.id)).items
    [ours] = [m for m in messages if m.direction is Direction.OUTBOUND]
    assert ours.template is not None
    assert (ours.template.name, ours.template.language) == ("booking_follow_up", "es")
    assert ours.template.components == (
        {"type": "body", "parameters": [{"type": "text", "text": "Ana"}]},
    )
    assert ours.text == "[booking_follow_up] Ana"
    assert "[booking_follow_up] Ana" in after.text


async def test_no_template_listed_says_who_adds_them(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    await whatsapp_settings(suite)
    conversation = await guest_wrote(suite, 48)
    async with suite.client() as agent, suite.client() as manager:
        await sign_in(agent, "agent@plaza.test")
        await sign_in(manager, "manager@plaza.test")
        for_agent = await agent.get(page_of(conversation))
        for_manager = await manager.get(page_of(conversation))
    for page in (for_agent, for_manager):
        assert "The reply window closed 1 day ago." in page.text
        assert "No approved template is listed for this channel." in page.text
        assert 'name="text"' not in page.text
    assert 'href="/hotels/plaza/channels/whatsapp"' in for_manager.text
    assert "Channel settings</a>" not in for_agent.text


async def test_a_manager_sets_and_clears_the_conversation_and_guest_modes(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    here = page_of(plaza.conversation)
    conversation_form = f"{here}/mode"
    guest_form = f"/hotels/plaza/guests/{plaza.guest.id}/mode"
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        before = await client.get(here)
        by_guest = await post_form(client, here, guest_form, mode="manual", back=here)
        guest_page = await client.get(here)
        by_conversation = await post_form(client, here, conversation_form, mode="automatic")
        conversation_page = await client.get(here)
        unknown = await post_form(client, here, conversation_form, mode="sometimes")
        cleared = await post_form(client, here, conversation_form, mode="")
    assert 'action="/hotels/plaza/conversations/' in before.text
    assert "Supervised</strong> · the channel&#39;s mode" in before.text
    assert (by_guest.status_code, by_guest.headers["location"]) == (303, here)
    assert "Manual</strong> · set for this guest" in guest_page.text
    assert by_conversation.status_code == 303
    assert "Automatic</strong> · set for this conversation" in conversation_page.text
    assert unknown.status_code == 422
    assert cleared.status_code == 303
    conversation = await suite.store.get_conversation("plaza", plaza.conversation.id)
    guest = await suite.store.get_guest("plaza", plaza.guest.id)
    assert conversation is not None
    assert guest is not None
    assert (conversation.mode_override, guest.mode_override) == (None, ReplyMode.MANUAL)


async def test_an_agent_sees_the_mode_and_cannot_change_it(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    await suite.store.update_guest("plaza", plaza.guest.id, mode_override=ReplyMode.AUTOMATIC)
    here = page_of(plaza.conversation)
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        page = await client.get(here)
        refused = await post_form(client, here, f"{here}/mode", mode="manual")
        refused_guest = await post_form(
            client, here, f"/hotels/plaza/guests/{plaza.guest.id}/mode", mode="manual"
        )
    assert "Automatic</strong> · set for this guest" in page.text
    assert f'action="{here}/mode"' not in page.text
    assert (refused.status_code, refused_guest.status_code) == (403, 403)
    conversation = await suite.store.get_conversation("plaza", plaza.conversation.id)
    assert conversation is not None
    assert conversation.mode_override is None


class SmsChannel(Channel[ChannelSettings]):
    """A channel with a reply window and no templates (as SMS gateways that bill
    conversations are): nothing may go once the window has closed."""

    name: ClassVar[str] = "sms"
    capabilities: ClassVar[Capabilities] = Capabilities(reply_window=timedelta(hours=24))

    async def send(self, message: Message) -> SendReceipt:
        return SendReceipt(message_id=message.id, provider_message_ids=("sms-1",))


class SmsPlugin:
    @hookimpl
    def begasist_register_channels(self, register: Callable[[type[Channel[Any]]], None]) -> None:
        register(SmsChannel)


@pytest.fixture
async def with_sms(
    suite_settings: SuiteSettings,
    suite_store: Store,
    begasist_redis: Redis,
    begasist_names: StreamNames,
) -> AsyncIterator[RunningSuite]:
    """The suite with the installed plugins and :class:`SmsChannel`."""
    plugins = load_plugins()
    plugins.register_plugin(SmsPlugin(), name="sms-test")
    app = create_app(suite_settings, store=suite_store, plugins=plugins)
    async with serving(app, suite_settings) as url:
        yield RunningSuite(
            url=url,
            app=app,
            store=suite_store,
            redis=begasist_redis,
            names=begasist_names,
            settings=suite_settings,
        )


async def test_without_templates_free_text_is_off_once_the_window_closed(
    with_sms: RunningSuite,
) -> None:
    await seed_hotel(with_sms, "plaza")
    conversation = await guest_wrote(with_sms, 26, channel="sms", provider_id="sms-in-1")
    here = page_of(conversation)
    async with with_sms.client() as client:
        await sign_in(client, "agent@plaza.test")
        page = await client.get(here)
        text = await post_form(client, here, f"{here}/reply", text="Hello?")
        template = await post_form(client, here, f"{here}/template", template="hello:en")
    assert "The reply window closed 2 hours ago." in page.text
    assert "This channel cannot write to the guest again until they write first" in page.text
    assert '<textarea id="reply-text" name="text" rows="3" disabled' in page.text
    assert 'name="template"' not in page.text
    assert (text.status_code, template.status_code) == (422, 422)
    messages = (await with_sms.store.list_messages("plaza", conversation.id)).items
    assert [m.direction for m in messages] == [Direction.INBOUND]


async def test_the_api_refuses_free_text_once_the_window_closed_and_a_template_goes(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    """The reply route answers as the page offers: 422 ``reply_window_closed`` and nothing
    stored for free text after the window (or before the guest ever wrote); templates go."""
    await whatsapp_settings(suite, message_templates=TEMPLATES)
    closed = await guest_wrote(suite, hours_ago=30, provider_id="wa-old", address="+34600000078")
    open_ = await guest_wrote(suite, hours_ago=2, provider_id="wa-new", address="+34600000079")
    token = await personal_token(suite, plaza.members[Role.AGENT].email)
    async with suite.client(headers={"authorization": f"Bearer {token}"}) as api:
        path = f"/api/v1/hotels/plaza/conversations/{closed.id}/messages"
        refused = await api.post(path, json={"text": "¿Sigue interesado?"})
        assert refused.status_code == 422, refused.text
        assert refused.json()["extra"]["type"] == "reply_window_closed"
        assert "template" in refused.json()["detail"]
        stored = (await api.get(path)).json()["items"]
        assert [m["direction"] for m in stored] == ["inbound"]

        template = {"name": "welcome_back", "language": "en_US"}
        went = await api.post(path, json={"text": "Welcome back", "template": template})
        assert went.status_code == 202, went.text

        fresh = f"/api/v1/hotels/plaza/conversations/{open_.id}/messages"
        assert (await api.post(fresh, json={"text": "Sí, hay parking."})).status_code == 202
