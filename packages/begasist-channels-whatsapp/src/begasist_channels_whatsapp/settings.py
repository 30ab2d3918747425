"""The WhatsApp channel's settings: the Cloud API number, its secrets and its limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, ClassVar, Literal, Self

from begasist_core import ChannelSettings, FieldTranslation
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    PositiveFloat,
    SecretStr,
    StringConstraints,
    model_validator,
)

from begasist_channels_whatsapp.settings_text import TRANSLATIONS

__all__ = ["ApprovedTemplate", "WhatsAppSettings"]

MetaId = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,32}$")]
"""A Meta object id (phone number id, WhatsApp Business Account id): digits only."""

# The None inside the Annotated, not around it: the field's annotation is then plain
# ``SecretStr | None``, which the conformance kit's secret check recognises.
Secret = Annotated[SecretStr | None, Field(min_length=1)]

CLOUD_FIELDS = ("phone_number_id", "waba_id", "access_token")
"""What only the Cloud API transport needs: required when ``transport`` is ``cloud``.

``app_secret`` and ``verify_token`` are needed only for the hotel's own
webhook URL: a hotel on the operator's shared URL (one Meta app for many
hotels) leaves them unset, so the app's secret is not in every hotel's hands.
"""


class ApprovedTemplate(BaseModel):
    """A message template Meta approved for the number, as staff may send it."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,512}$")]
    """The template's name in WhatsApp Manager (``booking_follow_up``)."""
    language: Annotated[str, StringConstraints(pattern=r"^[a-zA-Z_]{2,16}$")]
    """The language it was approved in, as Meta writes it (``es``, ``en_US``)."""
    body_parameters: Annotated[int, Field(ge=0, le=20)] = 0
    """How many ``{{1}}``, ``{{2}}``... its body has: staff fill in one text each."""
    category: Literal["marketing", "utility", "authentication"] | None = None
    """Its category in WhatsApp Manager; a ``marketing`` one is never offered for a guest
    who stopped marketing messages. Meta's own word (a category update) wins."""


class WhatsAppSettings(ChannelSettings):
    """What a hotel configures for WhatsApp (the admin form is generated from it)."""

    translations: ClassVar[Mapping[str, Mapping[str, FieldTranslation]]] = TRANSLATIONS
    """The form's labels and help in Spanish (``settings_text.py``)."""

    secret_destinations: ClassVar[frozenset[str]] = frozenset({"graph_api_url"})
    """The access token goes to ``graph_api_url``: changing it needs the token again."""

    phone_number_id: MetaId | None = None
    """The Cloud API id of the hotel's number; webhook changes for another number are skipped."""
    waba_id: MetaId | None = None
    """The WhatsApp Business Account the number belongs to."""
    access_token: Secret = None
    """A system-user token with ``whatsapp_business_messaging``: authorises Graph API calls."""
    app_secret: Secret = None
    """The Meta app's secret: each webhook body is signed with it (``X-Hub-Signature-256``).
    Only for the hotel's own webhook URL; unset on the operator's shared URL."""
    verify_token: Secret = None
    """Chosen by the operator and typed into Meta's dashboard: proves the callback URL.
    Only for the hotel's own webhook URL."""
    graph_api_version: Annotated[str, StringConstraints(pattern=r"^v[0-9]{1,3}\.[0-9]{1,3}$")] = (
        "v21.0"
    )
    graph_api_url: HttpUrl = HttpUrl("https://graph.facebook.com")
    """Where the Graph API answers (http or https): Meta's, or a stand-in in tests and demos."""
    transport: Literal["cloud", "linked"] = "cloud"
    """``cloud``: Meta's Cloud API; ``linked``: a WhatsApp Web device paired by QR (needs the
    ``begasist-channels-whatsapp[linked]`` extra on the bot)."""
    linked_device_name: Annotated[str, StringConstraints(min_length=1, max_length=40)] = "Begasist"
    """Linked transport: the name the phone lists the paired device under (Linked devices)."""
    messages_per_second: PositiveFloat = 80
    """Sends per second for this number: Meta's default Cloud API throughput."""
    per_recipient_interval_seconds: Annotated[float, Field(ge=0)] = 1.0
    """Least time between two sends to one guest; Meta answers 131056 when pairs are too fast."""
    send_attempts: Annotated[int, Field(ge=1, le=10)] = 4
    """Tries per message part while Meta throttles or fails; then the runtime retries later."""
    uncertain_send_wait_seconds: Annotated[float, Field(ge=0, le=60)] = 10.0
    """After a crash during a send, how long to wait for Meta's status webhook to say whether
    the part in flight was accepted; without word by then it is sent again (and may arrive
    twice). Needs the number's status webhooks to reach Begasist; 0 resends at once."""
    ignore_groups: bool = True
    """Skip group conversations: a hotel talks to guests one to one."""
    message_templates: Annotated[tuple[ApprovedTemplate, ...], Field(max_length=100)] = ()
    """The templates Meta approved for this number, offered to staff instead of free text
    once a guest's 24-hour window has closed: a JSON list like ``[{"name":
    "booking_follow_up", "language": "es", "body_parameters": 1}]``."""

    @model_validator(mode="after")
    def _cloud_fields_for_cloud(self) -> Self:
        """The Cloud API fields are required with ``transport = "cloud"``, and only then."""
        if self.transport == "cloud":
            missing = [name for name in CLOUD_FIELDS if getattr(self, name) is None]
            if missing:
                raise ValueError(
                    f"transport 'cloud' needs {', '.join(missing)} "
                    "(or choose transport 'linked' to pair a phone by QR instead)"
                )
        return self
