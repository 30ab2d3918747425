"""An expired or revoked access token (Meta's code 190) is CredentialsRevoked: the runtime
holds the sends (tests/core/channelbot/test_held_sends.py) instead of failing each one."""

from __future__ import annotations

import pytest
from begasist_channels_whatsapp import WhatsAppChannel
from begasist_channels_whatsapp.testing import GraphStandin
from begasist_core import CredentialsRevoked, PermanentSendError
from begasist_core.testing import ChannelHarness

from tests.channels.whatsapp.test_send import harness, opened, outbound  # noqa: F401

pytestmark = pytest.mark.anyio


async def test_an_expired_or_revoked_token_is_credentials_revoked_not_a_failed_message(
    harness: ChannelHarness[WhatsAppChannel],  # noqa: F811
    graph_standin: GraphStandin,
) -> None:
    channel = await opened(harness)
    graph_standin.fail_next(1, status=401, code=190, title="Access token has expired")
    with pytest.raises(CredentialsRevoked) as raised:
        await channel.send(outbound(harness, "Hello"))
    assert not isinstance(raised.value, PermanentSendError)
    assert str(raised.value).startswith("Meta error 190: Access token has expired.")
    assert "new one in the channel's settings" in str(raised.value)
    assert len(graph_standin.requests) == 1, "no retry: no attempt can succeed"
