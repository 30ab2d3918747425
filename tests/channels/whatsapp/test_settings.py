"""The WhatsApp settings' list of approved templates (the staff app's template picker)."""

from __future__ import annotations

import pytest
from begasist_channels_whatsapp import WhatsAppSettings
from pydantic import ValidationError


def test_approved_templates_are_listed_with_their_body_parameters() -> None:
    settings = WhatsAppSettings.model_validate(
        {
            "transport": "linked",
            "message_templates": [
                {"name": "booking_follow_up", "language": "es", "body_parameters": 2},
                {"name": "welcome_back", "language": "en_US"},
            ],
        }
    )
    assert [(t.name, t.language, t.body_parameters) for t in settings.message_templates] == [
        ("booking_follow_up", "es", 2),
        ("welcome_back", "en_US", 0),
    ]
    assert WhatsAppSettings(transport="linked").message_templates == ()


@pytest.mark.parametrize(
    "entry",
    [
        {"name": "Booking Follow-Up", "language": "es"},
        {"name": "ok", "language": "e"},
        {"name": "ok", "language": "es", "body_parameters": 21},
        {"name": "ok", "language": "es", "header": "image"},
    ],
)
def test_a_template_meta_would_not_know_is_refused(entry: dict[str, object]) -> None:
    valid = {"name": "ok", "language": "es", "body_parameters": 20}
    WhatsAppSettings.model_validate({"transport": "linked", "message_templates": [valid]})
    with pytest.raises(ValidationError, match=r"message_templates\.0\."):
        WhatsAppSettings.model_validate({"transport": "linked", "message_templates": [entry]})
