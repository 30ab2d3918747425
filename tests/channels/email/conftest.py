"""The email tests' fixtures: a real Dovecot for the session, a fresh account per test."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trustme
from begasist_channels_email.settings import EmailSettings, Security

from tests.channels.email.dovecot import (
    Account,
    DovecotServer,
    Mailbox,
    dovecot_binary,
)
from tests.channels.email.smtp_server import (
    SMTP_PASSWORD,
    SMTP_USER,
    SmtpServer,
    SmtpTls,
    running_smtp_server,
)


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[DovecotServer]:
    """Dovecot on free local ports for the whole session (``.ci/run`` installs it).

    Without Dovecot the IMAP tests skip on a developer's machine, and fail where
    ``BEGASIST_REQUIRE_DOVECOT`` is set (CI): a missing server is never a pass there.
    """
    if dovecot_binary() is None:
        reason = "dovecot is not installed: apt-get install dovecot-imapd"
        if os.environ.get("BEGASIST_REQUIRE_DOVECOT"):
            pytest.fail(reason)
        pytest.skip(reason)
    with DovecotServer() as server:
        yield server


@pytest.fixture
def dovecot(dovecot_server: DovecotServer) -> Iterator[DovecotServer]:
    """The session's Dovecot; its log is printed (shown on failure) after the test."""
    yield dovecot_server
    print(dovecot_server.logs()[-20000:])


@pytest.fixture
def imap_account(dovecot: DovecotServer) -> Account:
    """An account no other test uses: its inbox starts empty."""
    return dovecot.new_account()


@pytest.fixture
def imap_mailbox(dovecot: DovecotServer, imap_account: Account) -> Mailbox:
    """The test account's INBOX, as another mail client sees it."""
    return Mailbox(dovecot, imap_account)


EmailSettingsFactory = Callable[..., EmailSettings]


@pytest.fixture
def imap_settings(dovecot: DovecotServer, imap_account: Account) -> EmailSettingsFactory:
    """``imap_settings(security=..., **overrides)``: settings for the test account.

    The CA is trusted through ``tls_ca_pem``; the SMTP fields are placeholders.
    """

    def make(security: Security = Security.TLS, **overrides: Any) -> EmailSettings:
        fields: dict[str, Any] = {
            "address": imap_account.user,
            "imap_host": dovecot.host,
            "imap_port": dovecot.tls_port if security is Security.TLS else dovecot.plain_port,
            "imap_security": security,
            "imap_user": imap_account.user,
            "imap_password": imap_account.password,
            "smtp_host": "smtp.invalid",
            "smtp_user": imap_account.user,
            "smtp_password": "unused",
            "tls_ca_pem": dovecot.ca_pem,
        }
        fields.update(overrides)
        return EmailSettings.model_validate(fields)

    return make


@pytest.fixture(scope="session")
def smtp_ca() -> trustme.CA:
    """The CA behind the SMTP test servers' certificates (trusted via ``tls_ca_pem``)."""
    return trustme.CA()


@pytest.fixture
def smtp_tls_server(smtp_ca: trustme.CA) -> Iterator[SmtpServer]:
    """A fresh aiosmtpd with implicit TLS, AUTH for ``SMTP_USER``, recording what it accepts."""
    with running_smtp_server(smtp_ca, SmtpTls.IMPLICIT) as server:
        yield server


@pytest.fixture
def smtp_starttls_server(smtp_ca: trustme.CA) -> Iterator[SmtpServer]:
    """As ``smtp_tls_server``, with STARTTLS required before AUTH and MAIL."""
    with running_smtp_server(smtp_ca, SmtpTls.STARTTLS) as server:
        yield server


@pytest.fixture
def smtp_plain_server(smtp_ca: trustme.CA) -> Iterator[SmtpServer]:
    """A server offering no TLS at all: a client must refuse to send its password there."""
    with running_smtp_server(smtp_ca, SmtpTls.NONE) as server:
        yield server


def smtp_settings_for(server: SmtpServer, **overrides: Any) -> EmailSettings:
    """Settings sending through *server* with its user and password, its CA trusted.

    The IMAP fields are placeholders; ``sent_folder`` is None (no APPEND).
    """
    fields: dict[str, Any] = {
        "address": "reservas@plaza.example",
        "display_name": "Hotel Plaza",
        "imap_host": "imap.invalid",
        "imap_user": SMTP_USER,
        "imap_password": "unused",
        "sent_folder": None,
        "smtp_host": server.host,
        "smtp_port": server.port,
        "smtp_security": Security.TLS if server.tls is SmtpTls.IMPLICIT else Security.STARTTLS,
        "smtp_user": SMTP_USER,
        "smtp_password": SMTP_PASSWORD,
        "tls_ca_pem": server.ca_pem,
    }
    fields.update(overrides)
    return EmailSettings.model_validate(fields)
