"""The Channels pages over HTTP: the generated settings form, saving only what it holds,
secrets write-only, errors next to their fields, enable / disable, commands and the QR."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest
from begasist_core import ChannelKeys, ChannelState, decode_event
from begasist_suite.store.records import ChannelConfig, ChannelStatus
from begasist_suite.web.qr import qr_svg
from markupsafe import escape

from tests.suite.api.seed import SeededHotel, seed_hotel, services
from tests.suite.conftest import RunningSuite, outbox_drained
from tests.suite.web.conftest import form_token, post_form, sign_in

pytestmark = pytest.mark.anyio

DEMO_PAGE = "/hotels/plaza/channels/demo"
EMAIL_PAGE = "/hotels/plaza/channels/email"
WHATSAPP_PAGE = "/hotels/plaza/channels/whatsapp"
LINKED_QR = "2@pairing-payload-of-the-linked-device,abc123,XYZ=="
CLOUD = {
    "transport": "cloud",
    "phone_number_id": "1234567890",
    "waba_id": "555",
    "access_token": "token-one",
    "app_secret": "app-secret-one",
}


@pytest.fixture
async def plaza(suite: RunningSuite) -> SeededHotel:
    return await seed_hotel(suite, "plaza")


def field_block(page: str, name: str) -> str:
    """The markup of one generated field (from its wrapper to the next one)."""
    start = page.index(f'id="f-{name}"')
    start = page.rindex('<div class="field', 0, start)
    following = page.find('<div class="field', start + 1)
    return page[start : following if following != -1 else len(page)]


async def stored(suite: RunningSuite, channel: str) -> ChannelConfig:
    config = await suite.store.get_channel_config("plaza", channel)
    assert config is not None
    return config


async def control_events(suite: RunningSuite) -> list[Any]:
    """The hotel's control stream, once the relay has published the outbox."""
    await outbox_drained(suite)
    entries = await suite.redis.xrange(suite.names.control("plaza"))
    return [decode_event(fields[b"e"]) for _, fields in entries]


async def save(client: httpx.AsyncClient, page: str, **fields: str) -> httpx.Response:
    return await post_form(client, page, page, **fields)


async def test_a_manager_sees_the_channels_and_an_agent_is_refused(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        inbox = await client.get("/hotels/plaza/inbox")
        agent_answers = [await client.get(p) for p in ("/hotels/plaza/channels", DEMO_PAGE)]
        qr = await client.get(f"{DEMO_PAGE}/qr.svg")
        refused = await client.post(
            DEMO_PAGE, data={"form_token": form_token(inbox), "mode": "manual"}
        )
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        page = await client.get("/hotels/plaza/channels")
    assert 'href="/hotels/plaza/channels"' not in inbox.text
    assert [a.status_code for a in agent_answers] == [403, 403]
    assert qr.status_code == 403
    assert refused.status_code == 403
    assert (await stored(suite, "demo")).settings["mode"] == "supervised"
    assert page.status_code == 200
    assert 'href="/hotels/plaza/channels"' in page.text
    assert "Settings of Demo channel" in page.text
    assert "Set up WhatsApp" in page.text
    assert "Set up Email" in page.text
    assert "Can pair a phone by scanning a QR code." in page.text
    assert "Tells when a message was delivered and read." in page.text
    assert "No bot is running for this hotel" in page.text


async def test_the_form_comes_from_the_plugin_schema(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        page = (await client.get(EMAIL_PAGE)).text
    address = field_block(page, "address")
    assert 'type="text"' in address
    assert " required" in address
    assert "The hotel&#39;s address guests write to" in address
    assert 'type="number"' in field_block(page, "imap_port")
    assert 'value="993"' in field_block(page, "imap_port")
    assert 'min="1" max="65535"' in field_block(page, "imap_port")
    security = field_block(page, "imap_security")
    assert '<option value="tls" selected>' in security
    assert '<option value="starttls">' in security
    assert "<textarea" in field_block(page, "tls_ca_pem")
    assert "One per line." in field_block(page, "ignore_senders")
    assert 'type="checkbox"' in field_block(page, "import_existing_mail")
    password = field_block(page, "imap_password")
    assert 'type="password"' in password
    assert "not set" in password
    assert ">IMAP host" in field_block(page, "imap_host")
    assert 'id="f-enabled"' not in page  # Enable / Disable is a form of its own
    assert "Reply mode" in field_block(page, "mode")


async def test_a_new_channel_is_saved_and_its_secret_shows_only_as_set(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    fields = {
        "address": "hello@plaza.test",
        "imap_host": "imap.plaza.test",
        "imap_port": "993",
        "imap_security": "tls",
        "imap_user": "hello",
        "imap_password": "imap-password-123",
        "smtp_host": "smtp.plaza.test",
        "smtp_port": "465",
        "smtp_security": "tls",
        "smtp_user": "hello",
        "smtp_password": "smtp-password-456",
        "ignore_senders": "@pms.plaza.test\r\nnoreply@plaza.test\r\n",
        "mode": "automatic",
    }
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        saved = await save(client, EMAIL_PAGE, **fields)
        page = await client.get(saved.headers["location"])
    assert (saved.status_code, saved.headers["location"]) == (303, f"{EMAIL_PAGE}?done=saved")
    assert "Saved." in page.text
    assert "imap-password-123" not in page.text
    assert "set" in field_block(page.text, "imap_password")
    assert "not set" not in field_block(page.text, "imap_password")
    config = await stored(suite, "email")
    assert config.settings["ignore_senders"] == ["@pms.plaza.test", "noreply@plaza.test"]
    assert config.settings["mode"] == "automatic"
    assert config.settings["import_existing_mail"] is False
    assert set(config.secrets) == {"imap_password", "smtp_password"}
    assert "imap-password-123" not in str(config.secrets)
    assert [e.type for e in await control_events(suite)] == ["config.changed"]


async def test_saving_changes_only_what_the_form_holds(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    """The PUT that reset the mode: a form holding only a secret changes only the secret."""
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        await save(client, DEMO_PAGE, mode="manual", simulated_guest_interval_seconds="30")
        only_secret = await save(client, DEMO_PAGE, webhook_secret="a-new-webhook-secret")
        after_secret = await stored(suite, "demo")
        kept_secret = await save(client, DEMO_PAGE, mode="automatic", webhook_secret="")
    assert only_secret.status_code == kept_secret.status_code == 303
    assert after_secret.settings["mode"] == "manual"
    assert after_secret.settings["simulated_guest_interval_seconds"] == 30
    after = await stored(suite, "demo")
    assert after.settings["mode"] == "automatic"
    assert after.settings["simulated_guest_interval_seconds"] == 30
    box = services(suite).secret_box
    assert box.decrypt(after.secrets["webhook_secret"]) == "a-new-webhook-secret"


async def test_errors_are_shown_next_to_their_fields_in_spanish_with_the_values_kept(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    async with suite.client(cookies={"begasist_lang": "es"}) as client:
        await sign_in(client, "manager@plaza.test")
        answer = await save(
            client,
            EMAIL_PAGE,
            address="not an address",
            imap_host="imap.plaza.test",
            imap_port="nine-nine-three",
            imap_user="hello",
            imap_password="typed-but-not-saved",
            smtp_host="smtp.plaza.test",
            smtp_user="hello",
        )
    assert answer.status_code == 422
    page = answer.text
    assert "No se guardó la configuración" in page
    assert "Escribe un número entero." in field_block(page, "imap_port")
    assert 'value="nine-nine-three"' in field_block(page, "imap_port")
    assert "No tiene el formato esperado." in field_block(page, "address")
    assert 'value="not an address"' in field_block(page, "address")
    assert "Este campo es obligatorio." in field_block(page, "smtp_password")
    assert 'value="imap.plaza.test"' in field_block(page, "imap_host")
    assert "typed-but-not-saved" not in page
    described = re.search(r'aria-describedby="([^"]*)"', field_block(page, "imap_port"))
    assert described is not None
    assert "f-imap_port-errors" in described[1].split()
    assert await suite.store.get_channel_config("plaza", "email") is None


async def test_json_fields_that_do_not_parse_are_an_error_of_their_own(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        answer = await save(client, DEMO_PAGE, guests='[{"address": "+1",')
    assert answer.status_code == 422
    assert "Not valid JSON." in field_block(answer.text, "guests")
    assert str(escape('[{"address": "+1",')) in field_block(answer.text, "guests")


async def test_where_secrets_go_changes_only_with_the_secrets_sent_again(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    moved = {"graph_api_url": "https://graph.attacker.test"}
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        first = await save(client, WHATSAPP_PAGE, **CLOUD)
        page = await client.get(WHATSAPP_PAGE)
        refused = await save(client, WHATSAPP_PAGE, **moved)
        accepted = await save(
            client,
            WHATSAPP_PAGE,
            **moved,
            access_token="token-two",
            app_secret="app-secret-two",
        )
    assert first.status_code == 303
    assert "The secrets are sent to this address" in field_block(page.text, "graph_api_url")
    assert refused.status_code == 422
    assert "type the secret again" in field_block(refused.text, "access_token")
    assert "type the secret again" in field_block(refused.text, "app_secret")
    assert accepted.status_code == 303
    config = await stored(suite, "whatsapp")
    assert config.settings["graph_api_url"] == "https://graph.attacker.test/"
    assert services(suite).secret_box.decrypt(config.secrets["access_token"]) == "token-two"


async def test_a_secret_is_cleared_with_its_checkbox(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        await save(client, WHATSAPP_PAGE, **CLOUD)
        cleared = await save(client, WHATSAPP_PAGE, **{"app_secret.clear": "on"})
        page = await client.get(WHATSAPP_PAGE)
    assert cleared.status_code == 303
    assert set((await stored(suite, "whatsapp")).secrets) == {"access_token"}
    assert "not set" in field_block(page.text, "app_secret")
    assert "Clear it" in field_block(page.text, "access_token")


async def test_a_number_of_another_hotel_is_refused_on_the_form(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    await seed_hotel(suite, "sol")
    async with suite.client() as client:
        await sign_in(client, "manager@sol.test")
        await save(client, "/hotels/sol/channels/whatsapp", **CLOUD)
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        taken = await save(client, WHATSAPP_PAGE, **CLOUD)
    assert taken.status_code == 409
    assert "a number belongs to one hotel" in taken.text
    assert await suite.store.get_channel_config("plaza", "whatsapp") is None


async def test_disable_and_enable_keep_the_other_settings(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        await save(client, DEMO_PAGE, mode="manual")
        off = await post_form(client, DEMO_PAGE, f"{DEMO_PAGE}/enabled", enabled="false")
        page = await client.get(off.headers["location"])
        disabled = await stored(suite, "demo")
        await post_form(client, DEMO_PAGE, f"{DEMO_PAGE}/enabled", enabled="true")
    assert off.headers["location"] == f"{DEMO_PAGE}?done=disabled"
    assert disabled.settings["enabled"] is False
    assert disabled.settings["mode"] == "manual"
    assert ">Enable</button>" in page.text
    enabled = await stored(suite, "demo")
    assert enabled.settings["enabled"] is True
    assert enabled.settings["mode"] == "manual"
    assert enabled.secrets == disabled.secrets
    assert [e.type for e in await control_events(suite)] == ["config.changed"] * 3


async def test_commands_go_to_the_hotel_bot(suite: RunningSuite, plaza: SeededHotel) -> None:
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        await save(client, WHATSAPP_PAGE, transport="linked")
        page = await client.get(WHATSAPP_PAGE)
        logout = await post_form(
            client, WHATSAPP_PAGE, f"{WHATSAPP_PAGE}/commands", command="logout"
        )
        bad = await post_form(client, WHATSAPP_PAGE, f"{WHATSAPP_PAGE}/commands", command="rm -rf")
        unset = await post_form(
            client, DEMO_PAGE, "/hotels/plaza/channels/email/commands", command="restart"
        )
    assert "Log out the linked device" in page.text
    assert logout.headers["location"] == f"{WHATSAPP_PAGE}?done=logout"
    assert bad.status_code == 400
    assert unset.status_code == 404
    commands = [e.data for e in await control_events(suite) if e.type == "channel.command"]
    assert [(c.channel, c.command) for c in commands] == [("whatsapp", "logout")]


async def test_the_pairing_qr_is_drawn_here_while_the_channel_pairs(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        await save(client, WHATSAPP_PAGE, transport="linked")
        none_yet = await client.get(f"{WHATSAPP_PAGE}/qr.svg")
        await ChannelKeys(suite.redis, suite.names, "plaza", "whatsapp").set("qr", LINKED_QR)
        await suite.store.record_channel_state(
            ChannelStatus(hotel="plaza", channel="whatsapp", state=ChannelState.PAIRING)
        )
        page = await client.get(WHATSAPP_PAGE)
        source = re.search(r'<img src="([^"]*qr\.svg[^"]*)"', page.text)
        assert source is not None
        image = await client.get(html.unescape(source[1]))
    assert none_yet.status_code == 404
    assert "Waiting to be paired" in page.text
    assert "Linked devices" in page.text
    assert 'data-poll-seconds="5"' in page.text
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/svg+xml"
    assert image.headers["cache-control"] == "no-store"
    assert image.content == qr_svg(LINKED_QR, "Pairing QR code")
    assert LINKED_QR not in page.text


async def test_a_misconfigured_channel_says_why_and_what_to_do(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    await suite.store.record_channel_state(
        ChannelStatus(
            hotel="plaza",
            channel="demo",
            state=ChannelState.MISCONFIGURED,
            detail="webhook_secret: <b>too short</b>",
        )
    )
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        page = (await client.get(DEMO_PAGE)).text
    assert "Misconfigured" in page
    assert "webhook_secret: &lt;b&gt;too short&lt;/b&gt;" in page
    assert "correct them below and save" in page
    assert "data-poll-seconds" not in page


async def test_forms_without_the_token_change_nothing(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        answers = [
            await client.post(DEMO_PAGE, data={"form_token": "forged", "mode": "manual"}),
            await client.post(f"{DEMO_PAGE}/enabled", data={"enabled": "false"}),
            await client.post(f"{DEMO_PAGE}/commands", data={"command": "restart"}),
        ]
    assert [a.status_code for a in answers] == [403, 403, 403]
    assert (await stored(suite, "demo")).settings["mode"] == "supervised"
    assert await control_events(suite) == []
