"""The channel page in the staff app shows a widget channel's script tag, ready to copy."""

from __future__ import annotations

import httpx
import pytest
from markupsafe import escape

from tests.suite.conftest import RunningSuite
from tests.suite.guest.conftest import HOTEL
from tests.suite.web.conftest import sign_in

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


async def test_the_web_chat_page_shows_its_script_tag_and_other_channels_none(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    async with suite.client() as client:
        assert (await sign_in(client, "admin@plaza.test")).status_code == 303
        page = await client.get(f"/hotels/{HOTEL}/channels/webchat")
        email = await client.get(f"/hotels/{HOTEL}/channels/email")
    assert page.status_code == 200
    tag = (
        f'<script src="{suite.url}/guest/{HOTEL}/webchat/widget.js" '
        f'data-key="{HOTEL}/webchat" async></script>'
    )
    assert f"readonly>{escape(tag)}</textarea>" in page.text
    assert "Embed code" in page.text
    assert email.status_code == 200
    assert "Embed code" not in email.text
