"""A real SMTP server for the email tests (aiosmtpd), trusted through a trustme CA.

:func:`running_smtp_server` starts one on a free port of 127.0.0.1 in its own
thread, with implicit TLS or with STARTTLS (or, to test refusals, with no TLS
at all), AUTH PLAIN/LOGIN for one known user, and a recorder that keeps every
accepted message and can answer the next messages with a scripted reply
(``server.fail_next("451 4.3.0 Try again later")``).
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

__all__ = [
    "SMTP_HOST",
    "SMTP_PASSWORD",
    "SMTP_USER",
    "ReceivedMail",
    "SmtpRecorder",
    "SmtpServer",
    "SmtpTls",
    "running_smtp_server",
]

SMTP_HOST: Final = "127.0.0.1"
SMTP_USER: Final = "hotel@plaza.example"
SMTP_PASSWORD: Final = "s3cret-smtp-password"


class SmtpTls(StrEnum):
    IMPLICIT = "implicit"
    """TLS from the first byte, as on port 465."""
    STARTTLS = "starttls"
    """STARTTLS offered (and required before AUTH and MAIL), as on port 587."""
    NONE = "none"
    """No TLS at all: a client must refuse to log in here."""


@dataclass(frozen=True)
class ReceivedMail:
    """One message the server accepted: its envelope and its exact bytes."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    login: str | None


@dataclass
class SmtpRecorder:
    """The server's handler: checks the login, answers scripted replies, keeps what it accepts."""

    user: str
    password: str
    received: list[ReceivedMail] = field(default_factory=list)
    scripted: deque[str] = field(default_factory=deque)
    attempts: int = 0
    """Every DATA the server saw, scripted failures included."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, reply: str, times: int = 1) -> None:
        """Answer the next *times* messages' DATA with *reply* (``"550 5.7.1 No"``)."""
        with self._lock:
            self.scripted.extend([reply] * times)

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        accepted = auth_data.login.decode() == self.user and (
            auth_data.password.decode() == self.password
        )
        return AuthResult(success=accepted, handled=False, auth_data=auth_data)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            self.attempts += 1
            if self.scripted:
                return self.scripted.popleft()
            login = getattr(session.auth_data, "login", None)
            self.received.append(
                ReceivedMail(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    data=bytes(envelope.original_content or b""),
                    login=login.decode() if isinstance(login, bytes) else None,
                )
            )
        return "250 2.0.0 Message accepted"


@dataclass(frozen=True)
class SmtpServer:
    """A running server: where it listens, how it is protected, what it received."""

    host: str
    port: int
    tls: SmtpTls
    ca_pem: str
    recorder: SmtpRecorder

    @property
    def received(self) -> list[ReceivedMail]:
        return self.recorder.received

    def fail_next(self, reply: str, times: int = 1) -> None:
        self.recorder.fail_next(reply, times)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((SMTP_HOST, 0))
        return int(probe.getsockname()[1])


class _Controller(Controller):
    """A controller whose sessions get this test's TLS and AUTH rules."""

    def __init__(self, recorder: SmtpRecorder, tls: SmtpTls, context: ssl.SSLContext) -> None:
        self._tls = tls
        self._context = context
        super().__init__(
            recorder,
            hostname=SMTP_HOST,
            port=_free_port(),
            ssl_context=context if tls is SmtpTls.IMPLICIT else None,
            server_hostname=SMTP_HOST,
        )
        self._recorder = recorder

    def factory(self) -> SMTP:
        starttls = self._tls is SmtpTls.STARTTLS
        return SMTP(
            self.handler,
            hostname="smtp.test",
            tls_context=self._context if starttls else None,
            require_starttls=starttls,
            # AUTH is checked in handle_MAIL; over implicit TLS aiosmtpd cannot tell it is TLS.
            auth_require_tls=starttls,
            auth_required=False,
            authenticator=self._recorder.authenticate,
        )


@contextmanager
def running_smtp_server(ca: trustme.CA, tls: SmtpTls) -> Iterator[SmtpServer]:
    """A server protected as *tls* says, with a certificate for 127.0.0.1 from *ca*."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(SMTP_HOST, "localhost").configure_cert(context)
    recorder = SmtpRecorder(user=SMTP_USER, password=SMTP_PASSWORD)
    controller = _Controller(recorder, tls, context)
    controller.start()
    try:
        yield SmtpServer(
            host=SMTP_HOST,
            port=controller.port,
            tls=tls,
            ca_pem=ca.cert_pem.bytes().decode(),
            recorder=recorder,
        )
    finally:
        controller.stop()
