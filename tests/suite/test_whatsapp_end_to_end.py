"""WhatsApp through the whole system: Meta's webhook into the inbox, staff replies out to Meta.

Real pieces: the suite under uvicorn, Redis, ``channelbot`` processes fetching
their settings from the suite. Meta's Graph API is the package's local
stand-in (``GraphStandin``), since the real one cannot be reached from CI.
The bot is killed with SIGKILL at the worst moment for a send: after the
stand-in accepted the message and the bot recorded it, before the bot's XACK
reached Redis (an :class:`AckTrap` proxy holds that XACK back). Its successor
takes the entry over and must not send it again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx
import pytest
from begasist_channels_whatsapp.testing import GraphStandin
from begasist_core import StreamNames

from tests.suite.ack_trap import ack_trap
from tests.suite.conftest import RunningSuite, add_member

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

HOTEL = "plaza"
ACCESS_TOKEN = "e2e-access-token"
APP_SECRET = "e2e-app-secret"
PHONE_NUMBER_ID = "106540352242922"
GUEST = "16505551234"


@pytest.fixture
def graph() -> Iterator[GraphStandin]:
    with GraphStandin(token=ACCESS_TOKEN) as standin:
        yield standin


@pytest.fixture
async def admin(suite: RunningSuite) -> AsyncIterator[httpx.AsyncClient]:
    await add_member(suite.store, HOTEL, "admin@plaza.test", None, platform_admin=True)
    async with suite.client() as client:
        await suite.login(client, "admin@plaza.test")
        yield client


@pytest.fixture
async def bot_token(suite: RunningSuite, admin: httpx.AsyncClient, graph: GraphStandin) -> str:
    """The hotel's WhatsApp channel configured through the API, and a bot token for it."""
    settings = {
        "enabled": True,
        "mode": "manual",  # no assistant: the only reply is the staff's
        "phone_number_id": PHONE_NUMBER_ID,
        "waba_id": "102290129340398",
        "access_token": ACCESS_TOKEN,
        "app_secret": APP_SECRET,
        "verify_token": "e2e-verify-token",
        "graph_api_url": graph.base_url,
        "per_recipient_interval_seconds": 0,
    }
    saved = await admin.put(f"/api/v1/hotels/{HOTEL}/channels/whatsapp", json=settings)
    assert saved.status_code == 200, saved.text
    minted = await admin.post(f"/api/v1/hotels/{HOTEL}/bot-tokens", json={"name": "e2e"})
    assert minted.status_code == 201, minted.text
    token: str = minted.json()["token"]
    return token


@contextmanager
def channelbot(
    suite: RunningSuite, token: str, redis_url: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BEGASIST_")},
        "BEGASIST_REDIS_URL": redis_url,
        "BEGASIST_PREFIX": suite.names.prefix,
        "BEGASIST_SUITE_URL": suite.url,
        "BEGASIST_BOT_TOKEN": token,
        "BEGASIST_LEASE_TTL_SECONDS": "1",
        "BEGASIST_HEARTBEAT_SECONDS": "0.3",
        "BEGASIST_CLAIM_IDLE_SECONDS": "1",
        "BEGASIST_MEDIA_DIR": str(log.parent / "media"),
    }
    command = [sys.executable, "-m", "begasist_core.channelbot.cli", "--hotel", HOTEL]
    with log.open("ab") as output:
        process = subprocess.Popen(command, env=environment, stdout=output, stderr=output)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def until(
    check: Callable[[], Awaitable[Any]], what: str, log: Path, seconds: float = 30
) -> Any:
    """Poll *check* until it returns something truthy; fail with the bots' log otherwise."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await anyio.sleep(0.05)
    path = anyio.Path(log)
    tail = (await path.read_text(errors="replace"))[-4000:] if await path.exists() else ""
    pytest.fail(f"timed out waiting for {what}; bot log:\n{tail}")


def signed_delivery(*messages: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """A Cloud API delivery of *messages* from GUEST, signed as Meta signs it."""
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "102290129340398",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "15550783881",
                                    "phone_number_id": PHONE_NUMBER_ID,
                                },
                                "contacts": [{"profile": {"name": "Sheena"}, "wa_id": GUEST}],
                                "messages": list(messages),
                            },
                        }
                    ],
                }
            ],
        },
        separators=(",", ":"),
    ).encode()
    digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"content-type": "application/json", "x-hub-signature-256": f"sha256={digest}"}


def text_message(wamid: str, text: str) -> dict[str, Any]:
    return {
        "from": GUEST,
        "id": wamid,
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": text},
    }


def through(redis_url: str, port: int) -> str:
    """*redis_url* with its host and port replaced by the trap's."""
    parts = urlsplit(redis_url)
    netloc = f"127.0.0.1:{port}"
    if parts.username or parts.password:
        netloc = f"{parts.netloc.rsplit('@', 1)[0]}@{netloc}"
    return urlunsplit(parts._replace(netloc=netloc))


async def pending(suite: RunningSuite, names: StreamNames) -> int:
    try:
        info = await suite.redis.xpending(names.outbound(HOTEL), "channelbot")
    except Exception:  # the group does not exist yet
        return -1
    return int(info["pending"])


async def test_a_guest_message_reaches_the_inbox_and_the_reply_reaches_meta_exactly_once(
    suite: RunningSuite,
    admin: httpx.AsyncClient,
    bot_token: str,
    graph: GraphStandin,
    begasist_redis_url: str,
    tmp_path: Path,
) -> None:
    log = tmp_path / "bots.log"
    upstream = urlsplit(begasist_redis_url)
    marker = suite.names.outbound(HOTEL).encode()
    api = f"/api/v1/hotels/{HOTEL}"
    async with ack_trap(upstream.hostname or "127.0.0.1", upstream.port or 6379, marker) as trap:
        with channelbot(suite, bot_token, through(begasist_redis_url, trap.port), log) as first:

            async def running() -> bool:
                status = (await admin.get(f"{api}/status")).json()
                states = {c["channel"]: c["state"] for c in status["channels"]}
                return bool(status["bot_online"]) and states.get("whatsapp") == "running"

            await until(running, "the bot's whatsapp channel to run", log)

            # Meta delivers a guest message; then redelivers it beside a new one.
            body, headers = signed_delivery(text_message("wamid.first", "¿Hay parking?"))
            answer = await admin.post(f"/webhooks/{HOTEL}/whatsapp", content=body, headers=headers)
            assert answer.status_code == 200, answer.text
            body, headers = signed_delivery(
                text_message("wamid.first", "¿Hay parking?"),
                text_message("wamid.second", "Llegamos a las 22h"),
            )
            answer = await admin.post(f"/webhooks/{HOTEL}/whatsapp", content=body, headers=headers)
            assert answer.status_code == 200, answer.text

            async def conversation() -> dict[str, Any] | None:
                items = (await admin.get(f"{api}/conversations")).json()["items"]
                return items[0] if items else None

            found = await until(conversation, "the conversation", log)
            messages_path = f"{api}/conversations/{found['id']}/messages"

            async def both_messages() -> list[dict[str, Any]] | None:
                items: list[dict[str, Any]] = (await admin.get(messages_path)).json()["items"]
                return items if len(items) >= 2 else None

            stored = await until(both_messages, "both guest messages", log)
            assert [m["provider_message_id"] for m in stored] == ["wamid.first", "wamid.second"]
            assert [m["text"] for m in stored] == ["¿Hay parking?", "Llegamos a las 22h"]
            assert {m["guest"]["address"] for m in stored} == {GUEST}

            # A staff reply: the bot sends it, and is killed before its XACK lands.
            reply = await admin.post(
                messages_path, json={"text": "Sí, en el sótano.", "reply_to": "wamid.second"}
            )
            assert reply.status_code == 202, reply.text
            reply_id = reply.json()["id"]
            with anyio.fail_after(30):
                await trap.trapped.wait()
            first.kill()
            first.wait()
        assert [m.text for m in graph.accepted] == ["Sí, en el sótano."]
        assert await pending(suite, suite.names) == 1  # the send was never acked

    # The successor takes the hotel over and the entry with it: no second send.
    with channelbot(suite, bot_token, begasist_redis_url, log):

        async def acked() -> bool:
            return await pending(suite, suite.names) == 0

        await until(acked, "the successor to finish the entry", log)

        async def sent() -> dict[str, Any] | None:
            message: dict[str, Any] = next(
                m for m in (await admin.get(messages_path)).json()["items"] if m["id"] == reply_id
            )
            return message if message["status"] == "sent" else None

        delivered = await until(sent, "the reply to show as sent", log)
    [accepted] = graph.accepted
    assert accepted.text == "Sí, en el sótano."
    assert accepted.to == GUEST
    assert accepted.payload["context"] == {"message_id": "wamid.second"}
    assert delivered["provider_message_id"] == accepted.wamid
    assert not delivered["failed"]


async def test_outside_the_window_free_text_is_refused_and_a_template_goes(
    suite: RunningSuite,
    admin: httpx.AsyncClient,
    bot_token: str,
    graph: GraphStandin,
    begasist_redis_url: str,
    tmp_path: Path,
) -> None:
    log = tmp_path / "bots.log"
    api = f"/api/v1/hotels/{HOTEL}"
    with channelbot(suite, bot_token, begasist_redis_url, log):
        # A message the guest wrote two days ago (delivered late): the window is shut.
        old = text_message("wamid.old", "Hola") | {"timestamp": str(int(time.time()) - 48 * 3600)}
        body, headers = signed_delivery(old)

        async def accepted_webhook() -> bool:
            # The bot may still be starting: a webhook for a channel not yet up waits.
            answer = await admin.post(f"/webhooks/{HOTEL}/whatsapp", content=body, headers=headers)
            return answer.status_code == 200

        await until(accepted_webhook, "the webhook", log)

        async def conversation() -> dict[str, Any] | None:
            items = (await admin.get(f"{api}/conversations")).json()["items"]
            return items[0] if items else None

        found = await until(conversation, "the conversation", log)
        messages_path = f"{api}/conversations/{found['id']}/messages"
        # The suite knows the window from the stored message: free text is refused
        # before anything is queued (the bot's own check, ReplyWindowClosed, is the
        # channel's: tests/channels/whatsapp).
        text = await admin.post(messages_path, json={"text": "¿Sigue interesado?"})
        assert text.status_code == 422, text.text
        assert text.json()["extra"]["type"] == "reply_window_closed"
        assert "template" in text.json()["detail"]
        assert [m["direction"] for m in (await admin.get(messages_path)).json()["items"]] == [
            "inbound"
        ]

        async def settled(message_id: str) -> dict[str, Any] | None:
            items = (await admin.get(messages_path)).json()["items"]
            message: dict[str, Any] = next(m for m in items if m["id"] == message_id)
            return message if message["failed"] or message["status"] != "queued" else None

        template = {
            "name": "booking_follow_up",
            "language": "es",
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Sheena"}]}],
        }
        sent = await admin.post(
            messages_path, json={"text": "Seguimiento de su reserva", "template": template}
        )
        assert sent.status_code == 202, sent.text
        went = await until(lambda: settled(sent.json()["id"]), "the template", log)
        assert (went["status"], went["failed"]) == ("sent", False)
    [accepted] = graph.accepted
    assert accepted.type == "template"
    assert accepted.payload["template"]["name"] == "booking_follow_up"
    assert accepted.payload["template"]["language"] == {"code": "es"}
