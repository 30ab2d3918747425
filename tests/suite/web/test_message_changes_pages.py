"""The thread shows edits, deletions, reactions, quotes, interactive answers and echoes."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from begasist_core import (
    DeliveryStatus,
    Direction,
    InteractiveAnswer,
    InteractiveContent,
    Message,
    MessageChanged,
    MessageContext,
    MessageDeletion,
    MessageEchoed,
    MessageEdit,
    MessageReaction,
    MessageStatusChanged,
)

from tests.suite.api.seed import DEMO, SeededHotel, inbound_message, seed_hotel
from tests.suite.conftest import RunningSuite
from tests.suite.web.conftest import sign_in

pytestmark = pytest.mark.anyio


@pytest.fixture
async def plaza(suite: RunningSuite) -> SeededHotel:
    return await seed_hotel(suite, "plaza")


def items_of(page: str) -> list[str]:
    thread = re.search(r'<ol id="thread".*?\n      </ol>', page, re.DOTALL)
    assert thread is not None
    return re.findall(r'<li class="message.*?\n          </li>', thread[0], re.DOTALL)


def words(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


async def thread(suite: RunningSuite, plaza: SeededHotel) -> list[str]:
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        page = await client.get(f"/hotels/plaza/conversations/{plaza.conversation.id}")
    assert page.status_code == 200
    return [words(item) for item in items_of(page.text)]


def changed(plaza: SeededHotel, provider_id: str, change: object, minutes: int) -> MessageChanged:
    return MessageChanged.model_validate(
        {
            "channel": DEMO,
            "provider_message_id": provider_id,
            "change": change,
            "by": plaza.message.guest,
            "at": plaza.message.created_at + timedelta(minutes=minutes),
        }
    )


async def test_an_edited_then_deleted_message_shows_both(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    provider_id = plaza.message.provider_message_id or ""
    await suite.store.apply_change(
        "plaza", changed(plaza, provider_id, MessageEdit(text="Is dinner included?"), 1)
    )
    before = await thread(suite, plaza)
    assert "Is dinner included?" in before[0]
    assert "edited" in before[0]
    assert "Is breakfast included?" in before[0], "the earlier text is kept for staff"
    await suite.store.apply_change("plaza", changed(plaza, provider_id, MessageDeletion(), 2))
    after = await thread(suite, plaza)
    assert "Deleted by the guest" in after[0]
    assert "Is dinner included?" in after[0], "kept for audit"


async def test_a_reaction_and_a_reply_quote(suite: RunningSuite, plaza: SeededHotel) -> None:
    reply = Message(
        hotel="plaza",
        channel=DEMO,
        conversation_key=plaza.conversation.key,
        direction=Direction.OUTBOUND,
        guest=plaza.conversation.guest,
        text="Yes, breakfast is included.",
    )
    await suite.store.add_outbound(plaza.conversation, reply)
    await suite.store.apply_status(
        "plaza",
        MessageStatusChanged(
            channel=DEMO,
            provider_message_id="out-77",
            message_id=reply.id,
            status=DeliveryStatus.SENT,
        ),
    )
    await suite.store.apply_change(
        "plaza", changed(plaza, "out-77", MessageReaction(emoji="👍"), 5)
    )
    answer = inbound_message("plaza", "plaza-p2", text="Great, and parking?").model_copy(
        update={"reply_to": "out-77"}
    )
    await suite.store.record_inbound(answer)
    items = await thread(suite, plaza)
    (reacted,) = [item for item in items if "breakfast is included" in item and "👍" in item]
    assert "👍 Ana Lopez" in reacted
    (quoting,) = [item for item in items if "and parking?" in item]
    # The quote of the message answered comes first, then the answer.
    assert quoting.index("Yes, breakfast is included.") < quoting.index("and parking?")


async def test_interactive_answers_and_an_echo(suite: RunningSuite, plaza: SeededHotel) -> None:
    form = inbound_message("plaza", "plaza-flow", text="Late check-out\nTime: 14:00").model_copy(
        update={
            "context": MessageContext(
                interactive=InteractiveContent(
                    kind="flow",
                    title="Late check-out",
                    answers=(
                        InteractiveAnswer(question="Time", answer="14:00"),
                        InteractiveAnswer(question="Room", answer="204"),
                    ),
                )
            )
        }
    )
    await suite.store.record_inbound(form)
    await suite.store.record_echo(
        MessageEchoed(
            message=Message(
                hotel="plaza",
                channel=DEMO,
                conversation_key=plaza.conversation.key,
                direction=Direction.OUTBOUND,
                guest=plaza.conversation.guest,
                text="Sure, see you at 14:00",
                provider_message_id="echo-1",
            )
        )
    )
    items = await thread(suite, plaza)
    (answers,) = [item for item in items if "Late check-out" in item]
    assert "Time 14:00 Room 204" in answers
    (echoed,) = [item for item in items if "see you at 14:00" in item]
    assert "from the Demo channel app" in echoed
