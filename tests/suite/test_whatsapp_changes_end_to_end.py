"""End to end through a real bot: a guest's edit, deletion and reaction, a Flow's
answers and the hotel's own echo reach the suite's store from Meta's webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from begasist_channels_whatsapp.testing import GraphStandin

from tests.suite.conftest import RunningSuite
from tests.suite.test_whatsapp_end_to_end import (
    APP_SECRET,
    GUEST,
    HOTEL,
    PHONE_NUMBER_ID,
    admin,  # noqa: F401 (a fixture)
    bot_token,  # noqa: F401 (a fixture)
    channelbot,
    graph,  # noqa: F401 (a fixture)
    until,
)

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]


def signed(field: str, items_key: str, *items: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
        items_key: list(items),
    }
    if field == "messages":
        value["contacts"] = [{"profile": {"name": "Sheena"}, "wa_id": GUEST}]
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": field, "value": value}]}],
        },
        separators=(",", ":"),
    ).encode()
    digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"content-type": "application/json", "x-hub-signature-256": f"sha256={digest}"}


def guest_item(wamid: str, kind: str, seconds_ago: int, **content: Any) -> dict[str, Any]:
    stamp = str(int(time.time()) - seconds_ago)
    return {"from": GUEST, "id": wamid, "timestamp": stamp, "type": kind, **content}


async def test_changes_forms_and_echoes_reach_the_store(
    suite: RunningSuite,
    admin: httpx.AsyncClient,  # noqa: F811
    bot_token: str,  # noqa: F811
    graph: GraphStandin,  # noqa: F811
    begasist_redis_url: str,
    tmp_path: Path,
) -> None:
    log = tmp_path / "bots.log"
    api = f"/api/v1/hotels/{HOTEL}"
    first = signed(
        "messages",
        "messages",
        guest_item("wamid.g1", "text", 60, text={"body": "Parking for 1 car?"}),
        guest_item("wamid.g2", "text", 59, text={"body": "my card 4111 1111"}),
    )
    form = json.dumps({"flow_token": "t", "screen_0_Arrival_time_0": "22:00"})
    deliveries = [
        signed(
            "messages",
            "messages",
            guest_item(
                "wamid.e1",
                "edit",
                30,
                edit={
                    "original_message_id": "wamid.g1",
                    "message": {"type": "text", "text": {"body": "Parking for 2 cars?"}},
                },
            ),
            guest_item("wamid.r1", "revoke", 29, revoke={"original_message_id": "wamid.g2"}),
            guest_item(
                "wamid.f1",
                "interactive",
                28,
                interactive={
                    "type": "nfm_reply",
                    "nfm_reply": {"name": "flow", "body": "Sent", "response_json": form},
                },
            ),
        ),
        signed(
            "smb_message_echoes",
            "message_echoes",
            {
                "from": "15550783881",
                "to": GUEST,
                "id": "wamid.h1",
                "timestamp": str(int(time.time()) - 20),
                "type": "text",
                "text": {"body": "Yes, two cars fit"},
            },
        ),
        signed(
            "messages",
            "messages",
            guest_item(
                "wamid.x1", "reaction", 10, reaction={"message_id": "wamid.h1", "emoji": "🙏"}
            ),
        ),
    ]
    with channelbot(suite, bot_token, begasist_redis_url, log):

        async def accepted(delivery: tuple[bytes, dict[str, str]]) -> bool:
            body, headers = delivery
            answer = await admin.post(f"/webhooks/{HOTEL}/whatsapp", content=body, headers=headers)
            return answer.status_code == 200

        await until(lambda: accepted(first), "the first webhook", log)

        async def conversation() -> dict[str, Any] | None:
            items = (await admin.get(f"{api}/conversations")).json()["items"]
            return items[0] if items else None

        found = await until(conversation, "the conversation", log)
        path = f"{api}/conversations/{found['id']}/messages"

        async def count(n: int) -> list[dict[str, Any]] | None:
            items: list[dict[str, Any]] = (await admin.get(path)).json()["items"]
            return items if len(items) >= n else None

        await until(lambda: count(2), "the guest's messages", log)
        for delivery in deliveries:
            assert await accepted(delivery)
            assert await accepted(delivery)  # Meta retries: nothing changes twice

        async def settled() -> dict[str, dict[str, Any]] | None:
            items = await count(4)
            if items is None:
                return None
            by_id = {m["provider_message_id"]: m for m in items}
            echo = by_id.get("wamid.h1")
            if echo is None or not (echo["changes"] or {}).get("reactions"):
                return None
            return by_id

        stored = await until(settled, "the changes, the form and the echo", log)
    assert len(stored) == 4
    edited = stored["wamid.g1"]
    assert edited["text"] == "Parking for 2 cars?"
    assert [v["text"] for v in edited["changes"]["previous"]] == ["Parking for 1 car?"]
    deleted = stored["wamid.g2"]
    assert deleted["changes"]["deleted_at"] is not None
    assert deleted["text"] == "my card 4111 1111"
    answers = stored["wamid.f1"]["context"]["interactive"]["answers"]
    assert answers == [{"question": "Arrival time", "answer": "22:00"}]
    echo = stored["wamid.h1"]
    assert (echo["direction"], echo["status"], echo["text"]) == (
        "outbound",
        "sent",
        "Yes, two cars fit",
    )
    assert [(r["by"], r["emoji"]) for r in echo["changes"]["reactions"]] == [(GUEST, "🙏")]
    assert graph.accepted == [], "an echo is never sent again"
