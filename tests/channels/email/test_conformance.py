"""The email channel passes the conformance kit: Dovecot as the mailbox, aiosmtpd as the relay."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

import pytest
from begasist_channels_email import EmailChannel
from begasist_core import Channel
from begasist_core.testing import ChannelConformance, Transmission, TransmissionReader

from tests.channels.email.dovecot import Account, DovecotServer
from tests.channels.email.smtp_server import SMTP_PASSWORD, SMTP_USER, SmtpServer


def plain_text(raw: bytes) -> str:
    # SMTP carries CRLF line ends; the parser keeps them in the body's text.
    mail = cast(
        EmailMessage, message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=policy.default)
    )
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None, "every reply has a text/plain part"
    return str(body.get_content()).removesuffix("\n")


class TestEmailChannel(ChannelConformance):
    channel_class = EmailChannel
    guest_address = "guest@example.com"

    @pytest.fixture
    def channel_settings(
        self, dovecot: DovecotServer, imap_account: Account, smtp_tls_server: SmtpServer
    ) -> Mapping[str, Any]:
        return {
            "address": imap_account.user,
            "display_name": "Hotel Plaza",
            "imap_host": dovecot.host,
            "imap_port": dovecot.tls_port,
            "imap_user": imap_account.user,
            "imap_password": imap_account.password,
            "sent_folder": None,
            "smtp_host": smtp_tls_server.host,
            "smtp_port": smtp_tls_server.port,
            "smtp_user": SMTP_USER,
            "smtp_password": SMTP_PASSWORD,
            # One CA for both servers in the tests would be tidier; two PEMs work too.
            "tls_ca_pem": dovecot.ca_pem + "\n" + smtp_tls_server.ca_pem,
        }

    @pytest.fixture
    def read_transmissions(self, smtp_tls_server: SmtpServer) -> TransmissionReader:
        def read(channels: Sequence[Channel[Any]]) -> list[Transmission]:
            sent = []
            for mail in smtp_tls_server.received:
                parsed = message_from_bytes(mail.data, policy=policy.default)
                sent.append(
                    Transmission(mail.rcpt_tos[0], plain_text(mail.data), str(parsed["Message-ID"]))
                )
            return sent

        return read
