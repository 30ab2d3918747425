"""One SMTP submission with aiosmtplib, its outcome sorted into temporary and permanent.

TLS is never optional: implicit TLS (``Security.TLS``) or a STARTTLS that must
succeed before AUTH (``Security.STARTTLS``: a server that does not offer it
is refused, the password is never sent in clear). Certificates are verified
against the system's trust store plus ``tls_ca_pem``.

Outcomes: a 4xx answer, a dropped or timed-out connection raise
:class:`SmtpTemporaryFailure` (the caller retries); a 5xx answer (a refused
login, a refused recipient or content), a missing STARTTLS and an
untrusted certificate raise :class:`PermanentSendError` with the server's
code and reason. No error text carries the password: aiosmtplib never puts
it in one, and only server replies and our own words are used.
"""

from __future__ import annotations

import ssl
from email.message import EmailMessage

import aiosmtplib
from begasist_core import PermanentSendError

from begasist_channels_email.settings import EmailSettings, Security

__all__ = ["SMTP_TIMEOUT_SECONDS", "SmtpTemporaryFailure", "submit", "tls_context"]

SMTP_TIMEOUT_SECONDS = 30.0
"""Per command; a submission server that is silent this long is treated as down."""


class SmtpTemporaryFailure(Exception):
    """The server answered 4xx or the connection failed: trying again later may succeed."""


def tls_context(settings: EmailSettings) -> ssl.SSLContext:
    """Verification on, hostnames checked; the system CAs plus ``settings.tls_ca_pem``."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if settings.tls_ca_pem:
        try:
            context.load_verify_locations(cadata=settings.tls_ca_pem)
        except (ssl.SSLError, ValueError) as error:
            # A setup mistake: retrying cannot help.
            raise PermanentSendError(f"tls_ca_pem holds no usable certificate: {error}") from None
    return context


async def submit(settings: EmailSettings, mail: EmailMessage) -> None:
    """Send *mail* to its To address through the hotel's SMTP server, once.

    Raises :class:`SmtpTemporaryFailure` or :class:`PermanentSendError` as the
    module doc says; returns when the server accepted the message.
    """
    implicit = settings.smtp_security is Security.TLS
    client = aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        use_tls=implicit,
        start_tls=not implicit,
        tls_context=tls_context(settings),
        username=settings.smtp_user,
        password=settings.smtp_password.get_secret_value(),
        timeout=SMTP_TIMEOUT_SECONDS,
    )
    server = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        async with client:
            refused, _ = await client.send_message(mail)
    except aiosmtplib.SMTPRecipientsRefused as refusal:
        first = refusal.recipients[0]  # one recipient: the guest
        raise _failure(server, first.code, first.message) from None
    except aiosmtplib.SMTPResponseException as answer:
        raise _failure(server, answer.code, answer.message) from None
    except ssl.SSLCertVerificationError as untrusted:
        raise PermanentSendError(
            f"SMTP {server}: TLS certificate not trusted ({untrusted.verify_message})"
        ) from None
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as lost:
        cause = lost.__cause__ or lost.__context__
        if isinstance(cause, ssl.SSLCertVerificationError):
            raise PermanentSendError(
                f"SMTP {server}: TLS certificate not trusted ({cause.verify_message})"
            ) from None
        raise SmtpTemporaryFailure(f"SMTP {server}: {type(lost).__name__}: {lost}") from None
    except aiosmtplib.SMTPException as refused_locally:
        # Raised before anything was sent: no STARTTLS or no AUTH on offer.
        raise PermanentSendError(f"SMTP {server}: {refused_locally}") from None
    if refused:
        code, reason = next(iter(refused.values()))
        raise _failure(server, code, reason)


def _failure(server: str, code: int, reason: str) -> Exception:
    text = f"SMTP {server} answered {code} {reason}".strip()[:1900]
    if 400 <= code < 500:
        return SmtpTemporaryFailure(text)
    return PermanentSendError(text)
