"""One Meta app's callback URL for many hotels: verified with the app's secret, split per number.

Meta allows one callback URL per app, and an operator often runs one app for
all their hotels. The suite calls :func:`verify_shared` for
``/webhooks/_app/whatsapp``; each part it returns goes to the hotel whose
settings name that ``phone_number_id`` (:func:`route_key`).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Annotated, Any, Final

from begasist_core import (
    ChannelSettings,
    RoutedWebhook,
    SharedWebhook,
    WebhookRejected,
    WebhookRequest,
)
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from begasist_channels_whatsapp.settings import WhatsAppSettings
from begasist_channels_whatsapp.signature import (
    SIGNATURE_HEADER,
    answer_handshake,
    check_signature,
)

__all__ = ["WhatsAppAppSettings", "route_key", "split_by_number", "verify_shared"]

log = logging.getLogger(__name__)

_PHONE_NUMBER_ID: Final = re.compile(r"^[0-9]{1,32}$")
"""As ``WhatsAppSettings.phone_number_id``: a change naming anything else routes nowhere."""


class WhatsAppAppSettings(BaseModel):
    """The operator's Meta app, shared by every hotel whose number it serves."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    app_secret: Annotated[SecretStr, Field(min_length=1)]
    """The app's secret: Meta signs each webhook body with it (``X-Hub-Signature-256``)."""
    verify_token: Annotated[SecretStr, Field(min_length=1)]
    """Chosen by the operator and typed into the app's dashboard: proves the callback URL."""


def route_key(settings: ChannelSettings) -> str | None:
    """A hotel's key on the shared URL: its ``phone_number_id`` (None off the Cloud API,
    where Meta sends no webhooks)."""
    if not isinstance(settings, WhatsAppSettings):
        raise TypeError(f"whatsapp routes by WhatsAppSettings, not {type(settings).__name__}")
    return settings.phone_number_id if settings.transport == "cloud" else None


def verify_shared(request: WebhookRequest, app_settings: BaseModel) -> SharedWebhook:
    """Answer Meta's handshake, or check a POST's signature on its exact bytes and split it."""
    if not isinstance(app_settings, WhatsAppAppSettings):
        raise TypeError(
            f"whatsapp verifies with WhatsAppAppSettings, not {type(app_settings).__name__}"
        )
    method = request.method.upper()
    if method == "GET":
        token = app_settings.verify_token.get_secret_value()
        return SharedWebhook(response=answer_handshake(request, token))
    if method != "POST":
        raise WebhookRejected(f"WhatsApp webhooks are GET or POST, not {request.method!r}")
    check_signature(
        app_settings.app_secret.get_secret_value(),
        request.body,
        request.headers.get(SIGNATURE_HEADER),
    )
    return SharedWebhook(parts=split_by_number(request.body))


def split_by_number(body: bytes) -> tuple[RoutedWebhook, ...]:
    """One part per ``phone_number_id`` in *body*, each holding only that number's changes.

    A part keeps the delivery's shape (``object``, each entry with its ``id``
    and other keys, and the number's changes), so the hotel's bot parses it as
    it parses a delivery to its own URL. A body that names one number alone
    goes on as the exact bytes Meta sent. Changes naming no number are skipped
    with a log line, and so is a body that is not a delivery at all: Meta
    signed it, so asking for it again would bring the same.
    """
    try:
        delivery = json.loads(body)
    except (ValueError, RecursionError):
        log.warning("whatsapp shared webhook: the signed body is not JSON; skipped")
        return ()
    entries = delivery.get("entry") if isinstance(delivery, dict) else None
    if not isinstance(entries, list):
        log.warning("whatsapp shared webhook: the signed body has no entry list; skipped")
        return ()
    grouped: dict[str, list[dict[str, Any]]] = {}
    skipped = 0
    for index, entry in enumerate(entries):
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not isinstance(changes, list):
            log.info("whatsapp shared webhook: entry %d has no changes; skipped", index)
            skipped += 1
            continue
        for number, change in enumerate(changes):
            phone_number_id = _phone_number_id(change)
            if phone_number_id is None:
                log.info(
                    "whatsapp shared webhook: entry %s change %d names no "
                    "metadata.phone_number_id; skipped",
                    _printable(entry.get("id")),
                    number,
                )
                skipped += 1
                continue
            shares = grouped.setdefault(phone_number_id, [])
            if not shares or shares[-1]["_index"] != index:
                shares.append({"_index": index, "entry": entry, "changes": []})
            shares[-1]["changes"].append(change)
    if len(grouped) == 1 and not skipped:
        # Nothing to take out: hand on the very bytes Meta signed.
        (only,) = grouped
        return (RoutedWebhook(route_key=only, body=body),)
    return tuple(
        RoutedWebhook(route_key=key, body=_rebuilt(delivery, shares))
        for key, shares in grouped.items()
    )


def _phone_number_id(change: object) -> str | None:
    value = change.get("value") if isinstance(change, dict) else None
    metadata = value.get("metadata") if isinstance(value, dict) else None
    found = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
    return found if isinstance(found, str) and _PHONE_NUMBER_ID.match(found) else None


def _rebuilt(delivery: dict[str, Any], shares: list[dict[str, Any]]) -> bytes:
    entries = [
        {**{k: v for k, v in share["entry"].items() if k != "changes"}, "changes": share["changes"]}
        for share in shares
    ]
    shaped = {**{k: v for k, v in delivery.items() if k != "entry"}, "entry": entries}
    return json.dumps(shaped, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _printable(entry_id: object) -> str:
    return entry_id if isinstance(entry_id, str) and entry_id.isdigit() else "?"
