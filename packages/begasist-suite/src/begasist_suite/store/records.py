"""What the suite stores besides core's messages: hotels, people, credentials, drafts."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from begasist_core import (
    ChannelName,
    ChannelState,
    Conversation,
    FaqEntry,
    GuestIdentity,
    HotelSlug,
    ReplyMode,
    new_id,
    utc_now,
)
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

__all__ = [
    "ASSISTANT",
    "ECHOED",
    "EMAIL_PATTERN",
    "ZONE_NAME",
    "ChannelApp",
    "ChannelConfig",
    "ChannelStatus",
    "ConversationRecord",
    "Credential",
    "CredentialKind",
    "Draft",
    "DraftStatus",
    "Guest",
    "Hotel",
    "Invitation",
    "InvitationState",
    "Membership",
    "Page",
    "Role",
    "TimeZoneName",
    "User",
    "hotel_zone",
    "is_known_zone",
]

T = TypeVar("T")

ASSISTANT: Final = "assistant"
"""Who sent the assistant's own replies: ``Draft.decided_by`` of a draft it sent in
automatic mode, and ``Message.sent_by`` of that reply (user ids never look like this)."""

ECHOED: Final = "echo"
"""``Message.sent_by`` of a message the hotel sent from elsewhere on the channel (the
provider's own app), stored from a ``message.echoed`` event."""


ZONE_NAME: Final = r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$"
"""The shape of an IANA zone name; whether the zone exists is :func:`is_known_zone`."""


def is_known_zone(name: str) -> bool:
    """Whether the zone database (the system's, else ``tzdata``) has *name*."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _known_zone(name: str) -> str:
    if not is_known_zone(name):
        # A type of its own, so that the staff app can say it in the person's language.
        raise PydanticCustomError(
            "unknown_time_zone",
            "unknown time zone '{name}' (an IANA name, like Europe/Madrid)",
            {"name": name},
        )
    return name


TimeZoneName = Annotated[
    str, Field(min_length=1, max_length=64, pattern=ZONE_NAME), AfterValidator(_known_zone)
]
"""An IANA time zone name (``Europe/Madrid``, ``UTC``) that :mod:`zoneinfo` can load."""


_NOT_IN_ADDRESS: Final = (
    r"@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
EMAIL_PATTERN: Final = rf"^[^{_NOT_IN_ADDRESS}]+@[^{_NOT_IN_ADDRESS}]+$"
r"""An email address as people and invitations give it: something, ``@``, something, with no
space or control character. Spelled out rather than ``\s``: the server's regex engine and a
client's ECMAScript one (what JSON Schema means) disagree on what ``\s`` is (``U+0085``)."""


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Role(StrEnum):
    """A member's role in one hotel; each includes what the ones below may do."""

    AGENT = "agent"
    """Works the inbox: reads and answers conversations."""
    MANAGER = "manager"
    """Also configures channels, the FAQ and guests' modes."""
    OWNER = "owner"
    """Also manages the hotel's members and bot tokens."""

    def includes(self, other: Role) -> bool:
        return _ROLE_RANK[self] >= _ROLE_RANK[other]


_ROLE_RANK = {role: rank for rank, role in enumerate(Role)}


class Hotel(_Record):
    slug: HotelSlug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    config_version: Annotated[int, Field(ge=0)] = 0
    """Bumped by every change to the channel settings; bots compare it."""
    responder: Annotated[str, Field(min_length=1, max_length=64)] = "faq"
    faq: tuple[FaqEntry, ...] = ()
    """The FAQ the responder answers from."""
    fallback: dict[str, str] = Field(default_factory=dict)
    """Language -> "a person will answer shortly" text."""
    default_language: Annotated[str, Field(pattern=r"^[a-z]{2,3}$")] = "en"
    timezone: TimeZoneName = "UTC"
    """Where the hotel is: every time its pages show is in this zone."""
    created_at: AwareDatetime = Field(default_factory=utc_now)


def hotel_zone(hotel: Hotel) -> ZoneInfo:
    """The hotel's zone (validated when stored; ``UTC`` for a zone since dropped from
    the database, so a page never fails over it)."""
    try:
        return ZoneInfo(hotel.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class User(_Record):
    id: str = Field(default_factory=new_id)
    email: Annotated[str, Field(min_length=3, max_length=320, pattern=EMAIL_PATTERN)]
    display_name: Annotated[str, Field(max_length=200)] = ""
    password_hash: str | None = None
    """argon2id hash; None for a user who cannot log in with a password."""
    platform_admin: bool = False
    disabled: bool = False
    created_at: AwareDatetime = Field(default_factory=utc_now)


class Membership(_Record):
    hotel: HotelSlug
    user_id: str
    role: Role


class CredentialKind(StrEnum):
    SESSION = "session"
    """A browser login, held in a cookie, with its CSRF token."""
    API_TOKEN = "api_token"
    """A user's personal bearer token for scripts; acts as the user."""
    BOT_TOKEN = "bot_token"
    """A hotel's bot token: reads that hotel's channel settings and nothing else."""
    FLEET_TOKEN = "fleet_token"
    """A platform's fleet bot token, for sharded bots: lists the hotels and reads any
    hotel's channel settings, and nothing else (no staff or API route)."""


class Credential(_Record):
    """A session or token, stored under the SHA-256 of its secret, never the secret."""

    digest: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    id: str = Field(default_factory=new_id)
    """A public handle, for listing and revoking it."""
    kind: CredentialKind
    user_id: str | None = None
    hotel: HotelSlug | None = None
    name: Annotated[str, Field(max_length=200)] = ""
    csrf_token: str | None = None
    created_at: AwareDatetime = Field(default_factory=utc_now)
    expires_at: AwareDatetime | None = None


class InvitationState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"


class Invitation(_Record):
    """An invitation to join a hotel: its link's secret is stored only as a digest."""

    digest: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    id: str = Field(default_factory=new_id)
    """A public handle, for listing and revoking it."""
    hotel: HotelSlug
    email: Annotated[str, Field(min_length=3, max_length=320, pattern=EMAIL_PATTERN)]
    role: Role
    invited_by: str
    """The user id of the member who invited."""
    state: InvitationState = InvitationState.PENDING
    accepted_by: str | None = None
    created_at: AwareDatetime = Field(default_factory=utc_now)
    expires_at: AwareDatetime


class ChannelConfig(_Record):
    """A hotel's settings of one channel; secret fields only as ciphertext."""

    hotel: HotelSlug
    channel: ChannelName
    settings: dict[str, object] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict)
    """Secret field -> its encrypted value (``BEGASIST_SECRET_KEY``)."""
    route_key: Annotated[str | None, Field(min_length=1, max_length=256)] = None
    """What these settings answer to on the channel's shared webhook URL (the plugin's
    ``route_key``); one hotel per key per channel."""
    updated_at: AwareDatetime = Field(default_factory=utc_now)


class ChannelApp(_Record):
    """The operator's provider app of one channel, shared by its hotels (``AppSettings``)."""

    channel: ChannelName
    settings: dict[str, object] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict)
    """Secret field -> its encrypted value (``BEGASIST_SECRET_KEY``)."""
    updated_at: AwareDatetime = Field(default_factory=utc_now)


class Guest(_Record):
    """A person, with their identities on every channel of one hotel."""

    id: str = Field(default_factory=new_id)
    hotel: HotelSlug
    display_name: Annotated[str | None, Field(max_length=200)] = None
    mode_override: ReplyMode | None = None
    """Overrides the channel's reply mode for this guest."""
    identities: tuple[GuestIdentity, ...] = ()
    contacts: tuple[GuestIdentity, ...] = ()
    """Addresses the guest left without proving them (a web chat's pre-chat email): shown
    to staff and used to reach the guest, never an identity that links or merges guests."""
    created_at: AwareDatetime = Field(default_factory=utc_now)


class ConversationRecord(Conversation):
    """A conversation as the inbox lists it: with its guest's id."""

    guest_id: str | None = None
    last_message_preview: Annotated[str | None, Field(max_length=200)] = None
    unread: Annotated[int, Field(ge=0)] = 0
    """Guest messages no staff member has read yet (kept by the store as they come)."""


class DraftStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    REJECTED = "rejected"


class Draft(_Record):
    """The assistant's proposed reply to one inbound message."""

    id: str
    hotel: HotelSlug
    conversation_id: str
    message_id: str
    """The inbound message it answers."""
    text: Annotated[str, Field(min_length=1, max_length=65536)]
    responder: str
    confidence: float | None = None
    status: DraftStatus = DraftStatus.PENDING
    decided_by: str | None = None
    decided_at: AwareDatetime | None = None
    sent_message_id: str | None = None
    created_at: AwareDatetime = Field(default_factory=utc_now)


class ChannelStatus(_Record):
    """The last ``channel.state`` a hotel's bot reported for a channel."""

    hotel: HotelSlug
    channel: ChannelName
    state: ChannelState
    detail: str | None = None
    restarts: int = 0
    at: AwareDatetime = Field(default_factory=utc_now)


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` back to get the next one."""

    items: list[T]
    next_cursor: str | None = None
