"""Outbound email against a real SMTP server (aiosmtpd): TLS, AUTH, failures, idempotency."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from begasist_channels_email.outbound import EmailSender, SmtpUnavailable, imap_sent_copier
from begasist_channels_email.settings import EmailSettings
from begasist_channels_email.threads import ThreadIndex, conversation_key_for
from begasist_core import (
    Attachment,
    AttachmentKind,
    ChannelContext,
    Direction,
    FileMediaStore,
    GuestIdentity,
    Message,
    PermanentSendError,
    Publisher,
    StreamNames,
)
from redis.asyncio import Redis

from tests.channels.email.conftest import smtp_settings_for
from tests.channels.email.dovecot import Account, DovecotServer, Mailbox
from tests.channels.email.smtp_server import (
    SMTP_PASSWORD,
    SMTP_USER,
    SmtpServer,
)

pytestmark = pytest.mark.anyio

GUEST = "ana.garcia@example.com"


def _context(
    settings: EmailSettings, redis: Redis, names: StreamNames, media_root: Path
) -> ChannelContext[EmailSettings]:
    return ChannelContext(
        hotel="plaza",
        channel="email",
        settings=settings,
        redis=redis,
        publisher=Publisher(redis),
        names=names,
        media=FileMediaStore(media_root),
    )


def _sender(
    server: SmtpServer,
    redis: Redis,
    names: StreamNames,
    tmp_path: Path,
    **overrides: Any,
) -> EmailSender:
    context = _context(smtp_settings_for(server, **overrides), redis, names, tmp_path)
    return EmailSender(context, ThreadIndex(context.keys), retry_delays=(0.01,), copy_sent=None)


def _reply(
    text: str = "Su habitación está lista.\n\nUn saludo,\nRecepción", **fields: Any
) -> Message:
    values: dict[str, Any] = {
        "hotel": "plaza",
        "channel": "email",
        "conversation_key": conversation_key_for(GUEST, "root@example.com"),
        "direction": Direction.OUTBOUND,
        "guest": GuestIdentity(channel="email", address=GUEST, display_name="Ana García"),
        "text": text,
    }
    values.update(fields)
    return Message.model_validate(values)


def _parsed(data: bytes) -> EmailMessage:
    parsed = message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


async def test_implicit_tls_delivers_with_auth(
    smtp_tls_server: SmtpServer, begasist_redis: Redis, begasist_names: StreamNames, tmp_path: Path
) -> None:
    sender = _sender(smtp_tls_server, begasist_redis, begasist_names, tmp_path)
    message = _reply()

    receipt = await sender.send(message)

    [mail] = smtp_tls_server.received
    assert mail.login == SMTP_USER
    assert mail.rcpt_tos == (GUEST,)
    assert mail.mail_from == "reservas@plaza.example"
    assert receipt.provider_message_ids == (f"{message.id}@plaza.example",)
    assert _parsed(mail.data)["Message-ID"] == f"<{receipt.provider_message_ids[0]}>"


async def test_starttls_delivers(
    smtp_starttls_server: SmtpServer,
    begasist_redis: Redis,
    begasist_names: StreamNames,
    tmp_path: Path,
) -> None:
    sender = _sender(smtp_starttls_server, begasist_redis, begasist_names, tmp_path)

    await sender.send(_reply())

    assert len(smtp_starttls_server.received) == 1


async def test_no_starttls_on_offer_refuses_to_log_in(
    smtp_plain_server: SmtpServer,
    begasist_redis: Redis,
    begasist_names: StreamNames,
    tmp_path: Path,
) -> None:
    sender = _sender(
        smtp_plain_server, begasist_redis, begasist_names, tmp_path, smtp_security="starttls"
    )

    with pytest.raises(PermanentSendError, match="STARTTLS"):
        await sender.send(_reply())

    assert smtp_plain_server.recorder.attempts == 0


async def test_an_untrusted_certificate_is_refused(
    smtp_tls_server: SmtpServer, begasist_redis: Redis, begasist_names: StreamNames, tmp_path: Path
) -> None:
    sender = _sender(smtp_tls_server, begasist_redis, begasist_names, tmp_path, tls_ca_pem=None)

    with pytest.raises(PermanentSendError, match="certificate"):
        await sender.send(_reply())

    assert smtp_tls_server.recorder.attempts == 0


async def test_a_wrong_password_is_permanent_and_never_shown(
    smtp_tls_server: SmtpServer, begasist_redis: Redis, begasist_names: StreamNames, tmp_path: Path
) -> None:
    wrong = "not-the-" + SMTP_PASSWORD
    sender = _sender(smtp_tls_server, begasist_redis, begasist_names, tmp_path, smtp_password=wrong)

    with pytest.raises(PermanentSendError, match="535") as refused:
        await sender.send(_reply())

    assert wrong not in str(refused.value)
    assert SMTP_PASSWORD not in str(refused.value)
    assert smtp_tls_server.received == []


async def test_a_451_is_retried_and_the_mail_delivered_once(
    smtp_tls_server: SmtpServer, begasist_redis: Redis, begasist_names: StreamNames, tmp_path: Path
) -> None:
    smtp_tls_server.fail_next("451 4.3.0 Greylisted, try again later")
    sender = _sender(smtp_tls_server, begasist_redis, begasist_names, tmp_path)

    await sender.send(_reply())

    assert smtp_tls_server.recorder.attempts == 2
    assert len(smtp_tls_server.received) == 1


async def test_4xx_every_time_is_a_transient_error(
    smtp_tls_server: SmtpServer, begasist_redis: Redis, begasist_names: StreamNames, tmp_path: Path
) -> None:
    smtp_tls_server.fail_next("452 4.2.2 Mailbox full", times=10)
    sender = _sender(smtp_tls_server, begasist_redis, begasist_names, tmp_path)
    message = _reply()

    with pytest.raises(SmtpUnavailable, match="452"):
        await sender.send(message)

    assert not isinstance(SmtpUnavailable("x"), PermanentSendError)
    assert smtp_tls_server.received == []
    smtp_tls_server.recorder.scripted.clear()
    await sender.send(message)
    assert len(smtp_tls_server.received) == 1


async def test_a_server_that_is_down_is_a_transient_error(
    smtp_tls_server: SmtpServer, begasist_redis: Redis, begasist_names: StreamNames, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    sender = _sender(
        smtp_tls_server, begasist_redis, begasist_names, tmp_path, smtp_port=closed_port
    )

    with pytest.raises(SmtpUnavailable):
        await sender.send(_reply())


async def test_a_550_is_permanent_with_the_servers_reason(
    smtp_tls_server: SmtpServer, begasist_redis: Redis, begasist_names: StreamNames, tmp_path: Path
) -> None:
    smtp_tls_server.fail_next("550 5.1.1 User unknown in virtual mailbox table")
    sender = _sender(smtp_tls_server, begasist_redis, begasist_names, tmp_path)

    with pytest.raises(PermanentSendError, match=r"550 .*User unknown"):
        await sender.send(_reply())

    assert smtp_tls_server.recorder.attempts == 1


async def test_the_same_message_twice_is_delivered_once(
    smtp_tls_server: SmtpServer, begasist_redis: Redis, begasist_names: StreamNames, tmp_path: Path
) -> None:
    sender = _sender(smtp_tls_server, begasist_redis, begasist_names, tmp_path)
    message = _reply()

    first = await sender.send(message)
    second = await sender.send(message)

    assert second == first
    assert len(smtp_tls_server.received) == 1


async def test_a_reply_is_threaded_and_its_answer_lands_in_the_conversation(
    smtp_tls_server: SmtpServer, begasist_redis: Redis, begasist_names: StreamNames, tmp_path: Path
) -> None:
    sender = _sender(smtp_tls_server, begasist_redis, begasist_names, tmp_path)
    context = _context(smtp_settings_for(smtp_tls_server), begasist_redis, begasist_names, tmp_path)
    threads = ThreadIndex(context.keys)
    key = conversation_key_for(GUEST, "root@example.com")
    await threads.remember("<root@example.com>", key, "Reserva para el 12 de mayo")
    await threads.remember("<second@example.com>", key, "RE: Reserva para el 12 de mayo")
    message = _reply(conversation_key=key, reply_to="<second@example.com>")

    receipt = await sender.send(message)

    mail = _parsed(smtp_tls_server.received[0].data)
    assert mail["In-Reply-To"] == "<second@example.com>"
    assert mail["References"].split() == ["<root@example.com>", "<second@example.com>"]
    assert mail["Subject"] == "RE: Reserva para el 12 de mayo"
    answer_from_guest = _Answer(receipt.provider_message_ids[0])
    found = await threads.conversation_for(
        answer_from_guest, GUEST, new_subject_new_conversation=True
    )
    assert found == key


async def test_stored_media_is_attached(
    smtp_tls_server: SmtpServer, begasist_redis: Redis, begasist_names: StreamNames, tmp_path: Path
) -> None:
    sender = _sender(smtp_tls_server, begasist_redis, begasist_names, tmp_path)
    stored = await FileMediaStore(tmp_path).put(
        "plaza", b"%PDF-1.4 invoice", mime_type="application/pdf", max_bytes=1024
    )
    attachment = Attachment(
        kind=AttachmentKind.DOCUMENT,
        mime_type="application/pdf",
        filename="factura.pdf",
        url=stored.url,
    )

    await sender.send(_reply(attachments=(attachment,)))

    mail = _parsed(smtp_tls_server.received[0].data)
    [part] = list(mail.iter_attachments())
    assert part.get_filename() == "factura.pdf"
    assert part.get_content() == b"%PDF-1.4 invoice"


@pytest.mark.parametrize("folder", ["INBOX", "NoSuchFolder"])
async def test_a_copy_goes_to_the_sent_folder_and_a_failed_copy_is_only_logged(
    folder: str,
    smtp_tls_server: SmtpServer,
    dovecot: DovecotServer,
    imap_account: Account,
    begasist_redis: Redis,
    begasist_names: StreamNames,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = smtp_settings_for(
        smtp_tls_server,
        imap_host=dovecot.host,
        imap_port=dovecot.tls_port,
        imap_user=imap_account.user,
        imap_password=imap_account.password,
        sent_folder=folder,
        tls_ca_pem=smtp_tls_server.ca_pem + dovecot.ca_pem,
    )
    context = _context(settings, begasist_redis, begasist_names, tmp_path)
    sender = EmailSender(context, ThreadIndex(context.keys), copy_sent=imap_sent_copier)

    receipt = await sender.send(_reply())

    assert len(smtp_tls_server.received) == 1
    copies = Mailbox(dovecot, imap_account).flags()
    if folder == "INBOX":
        [flags] = copies.values()
        assert "\\Seen" in flags
    else:
        assert copies == {}
        assert "copy to 'NoSuchFolder' failed" in caplog.text
    assert receipt.provider_message_ids


class _Answer:
    """The guest's answer to our reply: only its In-Reply-To matters here."""

    def __init__(self, answered: str) -> None:
        self.message_id = "answer@example.com"
        self.in_reply_to = (answered.strip("<>"),)
        self.references: tuple[str, ...] = ()
        self.thread_index = None
        self.subject = "Otra cosa"
        self.date = None


async def test_a_ca_that_is_not_a_certificate_is_permanent(
    smtp_tls_server: SmtpServer, begasist_redis: Redis, begasist_names: StreamNames, tmp_path: Path
) -> None:
    # A setup mistake: retrying cannot help, staff must see the send failed.
    sender = _sender(
        smtp_tls_server, begasist_redis, begasist_names, tmp_path, tls_ca_pem="not a certificate"
    )

    with pytest.raises(PermanentSendError, match="tls_ca_pem"):
        await sender.send(_reply())

    assert smtp_tls_server.recorder.attempts == 0
