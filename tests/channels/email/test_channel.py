"""The email channel running against real servers: a guest writes, the hotel answers, the guest
answers back, and all of it is one conversation.

Dovecot holds the hotel's mailbox (the guest's mail is appended to it, as an
MTA would deliver it); aiosmtpd takes the hotel's reply.
"""

from __future__ import annotations

from email import message_from_bytes, policy
from email.utils import make_msgid
from pathlib import Path

import anyio
import pytest
from begasist_channels_email import EmailChannel, EmailSettings
from begasist_core import Direction, FileMediaStore, GuestIdentity, Message, MessageReceived
from begasist_core.testing import Bus, ChannelHarness, EventCapture

from tests.channels.email.dovecot import Account, DovecotServer, Mailbox
from tests.channels.email.smtp_server import SMTP_PASSWORD, SMTP_USER, SmtpServer

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

GUEST = "maria.garcia@example.com"


def guest_mail(subject: str, body: str, *, reply_to_id: str | None = None) -> tuple[bytes, str]:
    message_id = make_msgid(domain="example.com")
    headers = [
        f"From: =?utf-8?q?Mar=C3=ADa_Garc=C3=ADa?= <{GUEST}>",
        "To: reservas@plaza.example",
        f"Subject: {subject}",
        f"Message-ID: {message_id}",
        "Date: Tue, 24 Nov 2026 10:00:00 +0100",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    if reply_to_id is not None:
        headers += [f"In-Reply-To: {reply_to_id}", f"References: {reply_to_id}"]
    raw = ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode()
    return raw, message_id.strip("<>")


async def next_received(captured: EventCapture, count: int) -> list[Message]:
    with anyio.fail_after(20):
        while True:
            messages = [
                e.data.message for e in await captured.read() if isinstance(e.data, MessageReceived)
            ]
            if len(messages) >= count:
                return messages
            await anyio.sleep(0.05)


async def test_a_guest_a_reply_and_the_guest_s_answer_make_one_conversation(
    begasist_bus: Bus,
    captured_events: EventCapture,
    dovecot: DovecotServer,
    imap_account: Account,
    imap_mailbox: Mailbox,
    smtp_tls_server: SmtpServer,
    tmp_path: Path,
) -> None:
    settings = EmailSettings.model_validate(
        {
            "address": "reservas@plaza.example",
            "display_name": "Hotel Plaza",
            "imap_host": dovecot.host,
            "imap_port": dovecot.tls_port,
            "imap_user": imap_account.user,
            "imap_password": imap_account.password,
            "sent_folder": None,
            # The account starts empty; the guest's mail may land before the first connect.
            "import_existing_mail": True,
            "smtp_host": smtp_tls_server.host,
            "smtp_port": smtp_tls_server.port,
            "smtp_user": SMTP_USER,
            "smtp_password": SMTP_PASSWORD,
            "tls_ca_pem": dovecot.ca_pem + "\n" + smtp_tls_server.ca_pem,
        }
    )
    harness = ChannelHarness(
        EmailChannel, bus=begasist_bus, settings=settings, media=FileMediaStore(tmp_path)
    )
    channel = harness.build()
    async with anyio.create_task_group() as running:
        running.start_soon(channel.run)
        raw, first_id = guest_mail("¿Tienen parking?", "Hola, ¿tienen parking en el hotel?")
        imap_mailbox.append(raw)
        [question] = await next_received(captured_events, 1)
        assert question.text == "Hola, ¿tienen parking en el hotel?"
        assert question.guest == GuestIdentity(
            channel="email", address=GUEST, display_name="María García"
        )
        assert question.provider_message_id == first_id

        reply = Message(
            hotel=harness.hotel,
            channel="email",
            conversation_key=question.conversation_key,
            direction=Direction.OUTBOUND,
            guest=question.guest,
            text="Sí, en el sótano: 18 EUR por noche.",
            reply_to=question.provider_message_id,
        )
        receipt = await channel.send(reply)
        [sent] = smtp_tls_server.received
        mail = message_from_bytes(sent.data, policy=policy.default)
        assert sent.rcpt_tos == (GUEST,)
        assert mail["Subject"] == "Re: ¿Tienen parking?"
        assert mail["In-Reply-To"] == f"<{first_id}>"
        assert receipt.provider_message_ids == (str(mail["Message-ID"]).strip("<>"),)

        answer, _ = guest_mail(
            "Re: ¿Tienen parking?", "Perfecto, gracias.", reply_to_id=str(mail["Message-ID"])
        )
        imap_mailbox.append(answer)
        _, thanks = await next_received(captured_events, 2)
        assert thanks.text == "Perfecto, gracias."
        assert thanks.conversation_key == question.conversation_key
        running.cancel_scope.cancel()
