"""The email address a guest leaves in the pre-chat form, and the email fallback's setting."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from begasist_channels_webchat import WebchatChannel, WebchatSettings
from begasist_core import GUEST_CLOSE_BAD_FRAME, GuestHello, GuestRefused
from pydantic import ValidationError

ORIGIN = "https://www.plaza.example"
SETTINGS = WebchatSettings(allowed_origins=[ORIGIN])
VISITOR = "visitor-0123456789abcdef"


def hello(**changes: Any) -> GuestHello:
    return GuestHello(**{"origin": ORIGIN, "visitor_id": VISITOR, **changes})


def test_the_email_a_guest_left_is_admitted_as_a_contact_not_an_identity() -> None:
    admission = WebchatChannel.admit_guest(hello(email="  ana@example.com "), SETTINGS)

    assert admission.contact_email == "ana@example.com"
    # Unverified: nothing that would link the visitor to the guest known by that address.
    assert admission.verified_identity is None
    assert admission.address == VISITOR


@pytest.mark.parametrize("email", [None, "", "   "])
def test_no_email_is_no_contact(email: str | None) -> None:
    assert WebchatChannel.admit_guest(hello(email=email), SETTINGS).contact_email is None


@pytest.mark.parametrize(
    "email",
    [
        "ana",
        "ana@localhost",
        "Ana <ana@example.com>",
        "ana@example.com, bob@example.com",
        "ana@example.com\r\nBcc: bob@example.com",
        "ana..b@example.com",
        "ana b@example.com",
        "ana@-example.com",
    ],
)
def test_anything_but_one_plain_address_is_refused(email: str) -> None:
    with pytest.raises(GuestRefused) as refused:
        WebchatChannel.admit_guest(hello(email=email), SETTINGS)
    assert refused.value.code == GUEST_CLOSE_BAD_FRAME


def test_the_widget_learns_whether_the_form_requires_the_email() -> None:
    settings = WebchatSettings(pre_chat_form=True, pre_chat_email_required=True)

    config = WebchatChannel.guest_config(settings)

    assert config["pre_chat_form"] is True
    assert config["pre_chat_email_required"] is True
    assert "email_fallback_after_seconds" not in config


@pytest.mark.parametrize(
    ("seconds", "delay"), [(None, None), (0, None), (600, timedelta(seconds=600))]
)
def test_the_fallback_delay_comes_from_the_settings(
    seconds: int | None, delay: timedelta | None
) -> None:
    settings = WebchatSettings(email_fallback_after_seconds=seconds)

    assert WebchatChannel.unseen_reply_email_after(settings) == delay


def test_a_negative_fallback_delay_is_refused() -> None:
    with pytest.raises(ValidationError):
        WebchatSettings(email_fallback_after_seconds=-1)
