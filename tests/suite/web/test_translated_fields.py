"""A channel's settings form in the person's language: the plugin's translated labels, help and
choice labels, the schema's own text where there is none."""

from __future__ import annotations

import html

import pytest

from tests.suite.api.seed import SeededHotel, seed_hotel
from tests.suite.conftest import RunningSuite
from tests.suite.web.conftest import sign_in
from tests.suite.web.test_channel_pages import field_block

pytestmark = pytest.mark.anyio


@pytest.fixture
async def plaza(suite: RunningSuite) -> SeededHotel:
    return await seed_hotel(suite, "plaza")


async def page_in(suite: RunningSuite, language: str, path: str) -> str:
    async with suite.client(cookies={"begasist_lang": language}) as client:
        await sign_in(client, "manager@plaza.test")
        page = await client.get(path)
    assert page.status_code == 200
    return html.unescape(page.text)


async def test_the_whatsapp_form_in_spanish_and_in_english(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    page = await page_in(suite, "es", "/hotels/plaza/channels/whatsapp")
    token = field_block(page, "access_token")
    assert "Token de acceso" in token
    assert "autoriza las llamadas a la Graph API" in token
    transport = field_block(page, "transport")
    assert 'for="f-transport">Conexión' in transport
    assert ">Dispositivo vinculado por código QR</option>" in transport
    assert ">Cloud API de Meta</option>" in transport
    # Core's mode keeps the suite's own words, in the person's language.
    mode = field_block(page, "mode")
    assert "Modo de respuesta" in mode
    assert ">Automático: el asistente responde solo</option>" in mode
    # In English, the schema's own text: the model's docstrings and values.
    english = await page_in(suite, "en", "/hotels/plaza/channels/whatsapp")
    assert "Access token" in field_block(english, "access_token")
    assert "authorises Graph API calls" in field_block(english, "access_token")
    assert "Token de acceso" not in english
    assert ">linked</option>" in field_block(english, "transport")


async def test_the_email_and_demo_forms_in_spanish(suite: RunningSuite, plaza: SeededHotel) -> None:
    email = await page_in(suite, "es", "/hotels/plaza/channels/email")
    assert "Servidor IMAP" in field_block(email, "imap_host")
    assert "Contraseña SMTP" in field_block(email, "smtp_password")
    assert ">STARTTLS: conexión sin cifrar" in field_block(email, "smtp_security")
    assert "Remitentes ignorados" in field_block(email, "ignore_senders")
    demo = await page_in(suite, "es", "/hotels/plaza/channels/demo")
    assert "Secreto del webhook" in field_block(demo, "webhook_secret")
    assert "0 apaga la simulación" in field_block(demo, "simulated_guest_interval_seconds")
