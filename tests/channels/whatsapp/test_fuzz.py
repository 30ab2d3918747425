"""Random input never breaks parse: it returns events or raises ParseError, nothing else."""

from __future__ import annotations

import json
from typing import Any

from begasist_channels_whatsapp import read_webhook
from begasist_core import MessageReceived, MessageStatusChanged, ParseError
from hypothesis import given
from hypothesis import strategies as st

from tests.channels.whatsapp.samples import PHONE_NUMBER_ID, settings

SETTINGS = settings(ignore_groups=False)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)

# Keys and values a real delivery holds, so that the fuzz reaches past the envelope.
item_keys = st.sampled_from(
    [
        "id",
        "from",
        "timestamp",
        "type",
        "text",
        "image",
        "audio",
        "document",
        "sticker",
        "video",
        "location",
        "contacts",
        "reaction",
        "interactive",
        "button",
        "order",
        "unsupported",
        "context",
        "errors",
        "group_id",
        "status",
        "recipient_type",
        "body",
    ]
)
item_values = (
    st.sampled_from(["text", "image", "reaction", "interactive", "failed", "read", "1697043223"])
    | json_values
)
items = st.dictionaries(
    item_keys, item_values | st.dictionaries(item_keys, item_values), max_size=8
)


def webhook(messages: list[dict[str, Any]], statuses: list[dict[str, Any]]) -> dict[str, Any]:
    value = {
        "metadata": {"phone_number_id": PHONE_NUMBER_ID},
        "messages": messages,
        "statuses": statuses,
    }
    change = {"field": "messages", "value": value}
    return {"object": "whatsapp_business_account", "entry": [{"changes": [change]}]}


def parse_or_refuse(body: bytes) -> None:
    try:
        contents = read_webhook(body, hotel="plaza", settings=SETTINGS)
    except ParseError:
        return
    assert all(isinstance(e, MessageReceived | MessageStatusChanged) for e in contents.events)


@given(st.binary(max_size=256))
def test_random_bytes(body: bytes) -> None:
    parse_or_refuse(body)


@given(json_values)
def test_random_json(value: object) -> None:
    parse_or_refuse(json.dumps(value).encode())


@given(st.lists(items, max_size=3), st.lists(items, max_size=3))
def test_random_items_in_a_real_envelope(
    messages: list[dict[str, Any]], statuses: list[dict[str, Any]]
) -> None:
    parse_or_refuse(json.dumps(webhook(messages, statuses)).encode())
