"""The WhatsApp channel's settings: the Cloud API number, its secrets and its limits."""

from __future__ import annotations

from typing import Annotated, Literal

from begasist_core import ChannelSettings
from pydantic import Field, PositiveFloat, SecretStr, StringConstraints

__all__ = ["WhatsAppSettings"]

MetaId = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,32}$")]
"""A Meta object id (phone number id, WhatsApp Business Account id): digits only."""

Secret = Annotated[SecretStr, Field(min_length=1)]


class WhatsAppSettings(ChannelSettings):
    """What a hotel configures for WhatsApp (the admin form is generated from it)."""

    phone_number_id: MetaId
    """The Cloud API id of the hotel's number; webhook changes for another number are skipped."""
    waba_id: MetaId
    """The WhatsApp Business Account the number belongs to."""
    access_token: Secret
    """A system-user token with ``whatsapp_business_messaging``: authorises Graph API calls."""
    app_secret: Secret
    """The Meta app's secret: each webhook body is signed with it (``X-Hub-Signature-256``)."""
    verify_token: Secret
    """Chosen by the operator and typed into Meta's dashboard: proves the callback URL."""
    graph_api_version: Annotated[str, StringConstraints(pattern=r"^v[0-9]{1,3}\.[0-9]{1,3}$")] = (
        "v21.0"
    )
    transport: Literal["cloud", "linked"] = "cloud"
    """``cloud``: Meta's Cloud API; ``linked``: a paired WhatsApp Web device (not yet built)."""
    messages_per_second: PositiveFloat = 80
    """Sends per second for this number: Meta's default Cloud API throughput."""
    per_recipient_interval_seconds: Annotated[float, Field(ge=0)] = 1.0
    """Least time between two sends to one guest; Meta answers 131056 when pairs are too fast."""
    ignore_groups: bool = True
    """Skip group conversations: a hotel talks to guests one to one."""
