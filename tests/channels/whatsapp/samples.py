"""The webhook samples and settings the WhatsApp tests share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from begasist_channels_whatsapp import WhatsAppSettings

FIXTURES = Path(__file__).parent / "fixtures"
APP_SECRET = "app-secret-for-tests"
VERIFY_TOKEN = "verify-token-for-tests"
PHONE_NUMBER_ID = "1122334455667"


def settings(**changes: Any) -> WhatsAppSettings:
    return WhatsAppSettings.model_validate(
        {
            "phone_number_id": PHONE_NUMBER_ID,
            "waba_id": "1234567890987654321",
            "access_token": "access-token-for-tests",
            "app_secret": APP_SECRET,
            "verify_token": VERIFY_TOKEN,
            **changes,
        }
    )


def load(name: str) -> dict[str, dict[str, Any]]:
    samples: dict[str, dict[str, Any]] = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
    return samples


MESSAGES = load("messages")
STATUSES = load("statuses")


def body_of(sample: dict[str, Any]) -> bytes:
    """*sample* as Meta serialises it: compact, non-ASCII and "/" escaped."""
    return json.dumps(sample, separators=(",", ":")).replace("/", "\\/").encode()
