"""The email fallback through the whole system: a web chat guest who left an email address
and went gets the replies they did not read by email, all in one thread.

Real pieces: the suite under uvicorn, Redis, a ``channelbot`` process running the
hotel's web chat and email channels, a real Dovecot (the email channel's IMAP side)
and a real SMTP server (aiosmtpd) that records what the email channel submits. The
fallback's clock is the test's: its pass is run with a ``now`` past the delay.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from begasist_core import utc_now
from begasist_suite.inbox.email_fallback import EmailFallback
from begasist_suite.services import Services

from tests.channels.email.dovecot import DovecotServer, dovecot_binary
from tests.channels.email.smtp_server import (
    SMTP_PASSWORD,
    SMTP_USER,
    SmtpServer,
    SmtpTls,
    running_smtp_server,
)
from tests.suite.conftest import RunningSuite
from tests.suite.guest.conftest import (
    HOTEL,
    WEBCHAT_SETTINGS,
    channels_running,
    guest,
    hello,
    next_frame,
)
from tests.suite.guest.test_end_to_end import write
from tests.suite.test_whatsapp_end_to_end import channelbot, until

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

API = f"/api/v1/hotels/{HOTEL}"
DELAY = timedelta(seconds=600)
GUEST_EMAIL = "ana@guest.example"


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    if dovecot_binary() is None:
        pytest.skip("dovecot is not installed: apt-get install dovecot-imapd")
    with DovecotServer() as server:
        yield server


@pytest.fixture
def smtp(dovecot: DovecotServer) -> Iterator[SmtpServer]:
    with running_smtp_server(trustme.CA(), SmtpTls.IMPLICIT) as server:
        yield server


@pytest.fixture
async def bot_token(admin: httpx.AsyncClient, dovecot: DovecotServer, smtp: SmtpServer) -> str:
    """The hotel's web chat with the fallback on, its email channel on the local servers."""
    webchat = {**WEBCHAT_SETTINGS, "email_fallback_after_seconds": int(DELAY.total_seconds())}
    saved = await admin.put(f"{API}/channels/webchat", json=webchat)
    assert saved.status_code == 200, saved.text
    account = dovecot.new_account()
    email = {
        "enabled": True,
        "mode": "manual",
        "address": account.user,
        "display_name": "Hotel Plaza",
        "imap_host": dovecot.host,
        "imap_port": dovecot.tls_port,
        "imap_user": account.user,
        "imap_password": account.password,
        "sent_folder": None,
        "smtp_host": smtp.host,
        "smtp_port": smtp.port,
        "smtp_user": SMTP_USER,
        "smtp_password": SMTP_PASSWORD,
        # Both servers' CAs: the IMAP and the SMTP certificates are checked.
        "tls_ca_pem": dovecot.ca_pem + smtp.ca_pem,
    }
    saved = await admin.put(f"{API}/channels/email", json=email)
    assert saved.status_code == 200, saved.text
    minted = await admin.post(f"{API}/bot-tokens", json={"name": "e2e"})
    assert minted.status_code == 201, minted.text
    token: str = minted.json()["token"]
    return token


def mails(smtp: SmtpServer) -> list[EmailMessage]:
    parsed = [message_from_bytes(m.data, policy=policy.default) for m in smtp.received]
    return [m for m in parsed if isinstance(m, EmailMessage)]


def body(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content()).strip()


async def test_replies_left_unread_reach_the_guest_by_email_in_one_thread(
    suite: RunningSuite,
    admin: httpx.AsyncClient,
    bot_token: str,
    smtp: SmtpServer,
    begasist_redis_url: str,
    tmp_path: Path,
) -> None:
    log = tmp_path / "bots.log"
    with channelbot(suite, bot_token, begasist_redis_url, log):
        await channels_running(admin, log, ("webchat", "email"))

        # The guest leaves their address in the pre-chat form, writes, and goes.
        async with guest(suite) as socket:
            session = await hello(socket, name="Ana", email=GUEST_EMAIL)
            assert await next_frame(socket) == {"type": "history", "messages": []}
            await write(socket, "ana-000001", "¿Hay parking?")

        async def chat() -> dict[str, Any] | None:
            items = (await admin.get(f"{API}/conversations?channel=webchat")).json()["items"]
            return items[0] if items else None

        conversation = await until(chat, "the web chat conversation", log)
        messages_path = f"{API}/conversations/{conversation['id']}/messages"

        async def reply(text: str) -> str:
            sent = await admin.post(messages_path, json={"text": text})
            assert sent.status_code == 202, sent.text
            reply_id: str = sent.json()["id"]
            return reply_id

        unread = [await reply("Sí, en el sótano."), await reply("Son 20 € la noche.")]
        # The guest comes back and reads only the last reply.
        read = await reply("Le esperamos.")
        async with guest(suite) as socket:
            await hello(socket, visitor=session["visitor"], token=session["token"])
            history = await next_frame(socket)
            assert [m["id"] for m in history["messages"][-3:]] == [*unread, read]
            await socket.send(json.dumps({"type": "receipt", "id": read, "status": "read"}))

            async def seen() -> bool:
                items = (await admin.get(messages_path)).json()["items"]
                return any(m["id"] == read and m["status"] == "read" for m in items)

            await until(seen, "the last reply to show as read", log)

        services: Services = suite.app.state.services
        fallback = EmailFallback(services)
        assert await fallback.run_once(now=utc_now() + DELAY) == 2

        async def two_mails() -> list[EmailMessage] | None:
            found = mails(smtp)
            return found if len(found) >= 2 else None

        first, second = await until(two_mails, "the two emails", log)
        # Nothing more, even once everything is long overdue.
        assert await fallback.run_once(now=utc_now() + DELAY * 10) == 0

        async def email_conversation() -> dict[str, Any] | None:
            items = (await admin.get(f"{API}/conversations?channel=email")).json()["items"]
            return items[0] if items else None

        emailed = await until(email_conversation, "the email conversation", log)
        email_path = f"{API}/conversations/{emailed['id']}/messages"

        async def both_sent() -> list[dict[str, Any]] | None:
            items: list[dict[str, Any]] = (await admin.get(email_path)).json()["items"]
            done = [m for m in items if m["status"] == "sent"]
            return items if len(done) == 2 else None

        stored = await until(both_sent, "both emails to show as sent", log)

    assert len(smtp.received) == 2
    assert [body(first), body(second)] == ["Sí, en el sótano.", "Son 20 € la noche."]
    assert {m["To"].addresses[0].addr_spec for m in (first, second)} == {GUEST_EMAIL}
    # One thread: the second answers the first, the subject is the thread's.
    assert second["In-Reply-To"] == first["Message-ID"]
    assert first["Message-ID"] in str(second["References"])
    assert str(second["Subject"]).removeprefix("Re: ") == str(first["Subject"])
    # In the inbox: outbound emails, in their own conversation with the chat's guest.
    assert [(m["direction"], m["text"]) for m in stored] == [
        ("outbound", "Sí, en el sótano."),
        ("outbound", "Son 20 € la noche."),
    ]
    assert emailed["guest"]["address"] == GUEST_EMAIL
    assert emailed["guest_id"] == conversation["guest_id"]
