"""The email channel's settings: the hotel's address, its IMAP and SMTP servers, its limits."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, ClassVar

from begasist_core import ChannelSettings, FieldTranslation
from pydantic import (
    Field,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    StringConstraints,
)

from begasist_channels_email.settings_text import TRANSLATIONS

__all__ = ["EmailSettings", "Security"]

Host = Annotated[
    str, StringConstraints(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.:\[\]-]+$")
]
Port = Annotated[int, Field(ge=1, le=65535)]
Folder = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Address = Annotated[
    str, StringConstraints(min_length=3, max_length=320, pattern=r"^[^@\s<>]+@[^@\s<>]+$")
]


class Security(StrEnum):
    """How a connection is protected. Certificates are always verified."""

    TLS = "tls"
    """TLS from the first byte (IMAPS 993, SMTPS 465)."""
    STARTTLS = "starttls"
    """A plain connection upgraded by STARTTLS before logging in (IMAP 143, submission 587)."""


class EmailSettings(ChannelSettings):
    """What a hotel configures for email (the admin form is generated from it)."""

    translations: ClassVar[Mapping[str, Mapping[str, FieldTranslation]]] = TRANSLATIONS
    """The form's labels and help in Spanish (``settings_text.py``)."""

    secret_destinations: ClassVar[frozenset[str]] = frozenset(
        {
            *("imap_host", "imap_port", "imap_security"),
            *("smtp_host", "smtp_port", "smtp_security"),
            "tls_ca_pem",
        }
    )
    """The passwords go to these servers, over TLS that trusts ``tls_ca_pem``:
    changing any of them needs both passwords sent again, so whoever may edit
    the settings cannot have the bot log in to a server of theirs."""

    address: Address
    """The hotel's address guests write to, and the From of every reply."""
    display_name: Annotated[str, StringConstraints(max_length=200)] = ""
    """Shown beside the address in guests' mail clients (``Hotel Plaza``)."""

    imap_host: Host
    imap_port: Port = 993
    imap_security: Security = Security.TLS
    imap_user: Annotated[str, StringConstraints(min_length=1, max_length=320)]
    imap_password: SecretStr
    inbox_folder: Folder = "INBOX"
    """The folder guests' mail arrives in."""
    sent_folder: Folder | None = "Sent"
    """Where a copy of each reply is appended by IMAP APPEND; None: no copy."""

    smtp_host: Host
    smtp_port: Port = 465
    smtp_security: Security = Security.TLS
    smtp_user: Annotated[str, StringConstraints(min_length=1, max_length=320)]
    smtp_password: SecretStr

    tls_ca_pem: Annotated[str, StringConstraints(max_length=65536)] | None = None
    """An extra certificate authority to trust (PEM), for servers with a private CA.

    Verification stays on: this adds a trust anchor, it never turns checks off.
    """

    poll_interval_seconds: PositiveFloat = 60.0
    """How often to look for new mail on a server without IDLE."""
    idle_renew_seconds: Annotated[float, Field(gt=0, le=29 * 60)] = 25 * 60.0
    """IDLE is re-issued this often: servers may drop an IDLE after 30 minutes (RFC 2177)."""
    max_message_bytes: PositiveInt = 25 * 1024 * 1024
    """The largest file (decoded) stored from a mail, and the size of the raw original kept
    when a mail cannot be read; a mail is read up to about 1.37 times this plus 1 MiB
    (base64's growth), so a file of this size arrives whole."""
    import_existing_mail: bool = False
    """On the channel's first start, also read the mail already in the inbox (its
    assistant may then answer old mail); otherwise start with the next one."""
    new_subject_new_conversation: bool = False
    """A guest's mail with a new subject (not a reply) opens a new conversation."""
    ignore_senders: tuple[Annotated[str, StringConstraints(max_length=320)], ...] = ()
    """Addresses or ``@domain`` suffixes whose mail is skipped (the hotel's own systems)."""
