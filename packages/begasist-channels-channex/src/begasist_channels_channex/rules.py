"""What each OTA takes through Channex: text length and attachment kinds, checked before sending.

Channex relays a reply to the OTA and documents no limits of its own; the
limits are the OTAs'. Where an OTA documents them they are used here, and the
rest is marked UNCONFIRMED (see the package README):

- Booking.com (Connectivity Messaging API, "Uploading and downloading
  attachments"): images only, ``image/jpeg`` and ``image/png``, at most 1 MB.
- Expedia (Expedia Group Lodging Supply, Messaging "Attachment service"):
  PDF, JPEG and PNG, at most 5 MB each.
- Airbnb: no public document. UNCONFIRMED: JPEG and PNG images up to 5 MB are
  assumed, the kind every OTA here takes.
- Any other OTA: nothing but text (its rules are unknown).

Text: no OTA documents a limit that Channex passes on. UNCONFIRMED: 2000
characters per message for every OTA (longer replies go in parts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from begasist_core import Attachment, AttachmentKind, StoredMedia

from begasist_channels_channex.errors import ChannexRefused
from begasist_channels_channex.ota import Ota

__all__ = [
    "MAX_TEXT_LENGTH",
    "RULES",
    "SENDABLE_KINDS",
    "AttachmentRefused",
    "AttachmentRule",
    "OtaRules",
    "check_attachment",
]

MB: Final = 1024 * 1024
MAX_TEXT_LENGTH: Final = 2000


class AttachmentRefused(ChannexRefused):
    """The booking's OTA does not take this file: refused before any request to Channex."""


@dataclass(frozen=True)
class AttachmentRule:
    """The files of one kind an OTA takes: their MIME types and largest size."""

    mime_types: frozenset[str]
    max_bytes: int
    label: str
    """How staff read it: ``JPEG or PNG images up to 1 MB``."""


@dataclass(frozen=True)
class OtaRules:
    """One OTA's rules for a reply."""

    max_text_length: int = MAX_TEXT_LENGTH
    attachments: Mapping[AttachmentKind, AttachmentRule] = field(default_factory=dict)

    def takes(self) -> str:
        """The files this OTA takes, for a refusal's reason."""
        if not self.attachments:
            return "no files, only text"
        return "; ".join(rule.label for rule in self.attachments.values())


_JPEG_PNG: Final = frozenset({"image/jpeg", "image/jpg", "image/png"})

RULES: Final[Mapping[Ota, OtaRules]] = {
    Ota.BOOKING_COM: OtaRules(
        attachments={
            AttachmentKind.IMAGE: AttachmentRule(_JPEG_PNG, 1 * MB, "JPEG or PNG images up to 1 MB")
        }
    ),
    Ota.EXPEDIA: OtaRules(
        attachments={
            AttachmentKind.IMAGE: AttachmentRule(
                _JPEG_PNG, 5 * MB, "JPEG or PNG images up to 5 MB"
            ),
            AttachmentKind.DOCUMENT: AttachmentRule(
                frozenset({"application/pdf"}), 5 * MB, "PDF documents up to 5 MB"
            ),
        }
    ),
    Ota.AIRBNB: OtaRules(
        attachments={
            AttachmentKind.IMAGE: AttachmentRule(_JPEG_PNG, 5 * MB, "JPEG or PNG images up to 5 MB")
        }
    ),
    Ota.OTHER: OtaRules(),
}

SENDABLE_KINDS: Final = frozenset(kind for rules in RULES.values() for kind in rules.attachments)
"""The channel's ``media_kinds``: what at least one OTA takes (each booking's OTA decides)."""


def check_attachment(ota: Ota, attachment: Attachment, stored: StoredMedia) -> None:
    """Raise AttachmentRefused unless *ota* takes *attachment* (its stored copy *stored*)."""
    rules = RULES[ota]
    name = repr(attachment.filename or stored.filename or "the file")
    mime_type = stored.mime_type.split(";", 1)[0].strip()
    rule = rules.attachments.get(attachment.kind)
    if rule is None or mime_type not in rule.mime_types:
        raise AttachmentRefused(
            f"{ota.display_name} does not take {name} ({attachment.kind.value}, {mime_type}) "
            f"through Channex: it takes {rules.takes()}"
        )
    if stored.size_bytes > rule.max_bytes:
        raise AttachmentRefused(
            f"{name} is {stored.size_bytes / MB:.1f} MB: {ota.display_name} takes {rule.label}"
        )
