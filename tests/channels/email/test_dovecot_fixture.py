"""The Dovecot fixture itself: verified TLS on both listeners, fresh accounts, the test levers."""

from __future__ import annotations

import imaplib
import ssl

import pytest

from tests.channels.email.dovecot import Account, DovecotServer, Mailbox

pytestmark = pytest.mark.slow

RAW = b"From: a@example.com\r\nSubject: hola\r\nMessage-ID: <fixture@example.com>\r\n\r\nhola\r\n"


def test_the_tls_listener_is_verified_with_the_ca(
    dovecot: DovecotServer, imap_account: Account
) -> None:
    client = imaplib.IMAP4_SSL(
        dovecot.host, dovecot.tls_port, ssl_context=dovecot.client_ssl_context(), timeout=30
    )
    try:
        assert client.login(imap_account.user, imap_account.password)[0] == "OK"
    finally:
        client.logout()


def test_a_client_without_the_ca_is_refused(dovecot: DovecotServer) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL(
            dovecot.host, dovecot.tls_port, ssl_context=ssl.create_default_context(), timeout=30
        )


def test_the_plain_listener_wants_starttls_before_a_login(
    dovecot: DovecotServer, imap_account: Account
) -> None:
    client = imaplib.IMAP4(dovecot.host, dovecot.plain_port, timeout=30)
    try:
        assert "STARTTLS" in client.capabilities
        if dovecot.login_needs_tls:
            assert "LOGINDISABLED" in client.capabilities
            with pytest.raises(imaplib.IMAP4.error):
                client.login(imap_account.user, imap_account.password)
        client.starttls(dovecot.client_ssl_context())
        assert client.login(imap_account.user, imap_account.password)[0] == "OK"
    finally:
        client.logout()


def test_accounts_are_fresh(dovecot: DovecotServer) -> None:
    first, second = dovecot.new_account(), dovecot.new_account()
    assert first != second
    Mailbox(dovecot, first).append(RAW)
    assert set(Mailbox(dovecot, first).flags()) == {1}
    assert Mailbox(dovecot, second).flags() == {}


def test_an_appended_message_is_unseen(imap_mailbox: Mailbox) -> None:
    imap_mailbox.append(RAW)
    imap_mailbox.append(RAW)
    flags = imap_mailbox.flags()
    assert set(flags) == {1, 2}
    assert all("\\Seen" not in flags[uid] for uid in flags)


def test_uidvalidity_can_be_changed(imap_mailbox: Mailbox) -> None:
    imap_mailbox.append(RAW)
    before = imap_mailbox.uidvalidity()
    after = imap_mailbox.change_uidvalidity()
    assert after != before
    assert imap_mailbox.uidvalidity() == after
    assert set(imap_mailbox.flags()) == {1}


def send_noops(client: imaplib.IMAP4) -> None:
    # The first may still be answered by a server busy closing the connection.
    client.noop()
    client.noop()


def test_kick_drops_a_live_connection(dovecot: DovecotServer, imap_account: Account) -> None:
    with pytest.raises(RuntimeError, match="no users kicked"):
        dovecot.kick(imap_account)
    client = imaplib.IMAP4_SSL(
        dovecot.host, dovecot.tls_port, ssl_context=dovecot.client_ssl_context(), timeout=30
    )
    try:
        client.login(imap_account.user, imap_account.password)
        client.select("INBOX")
        dovecot.kick(imap_account)
        with pytest.raises((imaplib.IMAP4.abort, OSError)):
            send_noops(client)
    finally:
        client.shutdown()


def test_the_log_is_readable(dovecot: DovecotServer) -> None:
    assert "starting up" in dovecot.logs()
