"""The Assistant, Team and Operations pages over HTTP: forms, errors by their fields, roles."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from begasist_core import utc_now
from begasist_suite.auth.credentials import digest
from begasist_suite.store.records import CredentialKind, Role

from tests.suite.api.seed import (
    SeededHotel,
    bearer,
    bury_outbound,
    put_demo_settings,
    seed_hotel,
)
from tests.suite.conftest import RunningSuite
from tests.suite.web.conftest import form_token, post_form, sign_in

pytestmark = pytest.mark.anyio

ASSISTANT = "/hotels/plaza/assistant"
TEAM = "/hotels/plaza/team"
OPERATIONS = "/hotels/plaza/operations"
SECRET = re.compile(r'id="new-token" class="code" value="([^"]+)"')
ATTEMPT = re.compile(r'name="attempt" value="([^"]+)"')


@pytest.fixture
async def plaza(suite: RunningSuite) -> SeededHotel:
    return await seed_hotel(suite, "plaza")


async def faq_of(suite: RunningSuite) -> list[dict[str, object]]:
    hotel = await suite.store.get_hotel("plaza")
    assert hotel is not None
    return [entry.model_dump() for entry in hotel.faq]


async def test_a_faq_entry_is_added_edited_and_removed(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        added = await post_form(
            client,
            ASSISTANT,
            f"{ASSISTANT}/faq",
            original="",
            intent="parking",
            **{
                "keywords.en": "parking, car park",
                "answer.en": "Parking is free.",
                "answer.es": "",
            },
        )
        edited = await post_form(
            client,
            f"{ASSISTANT}?language=es",
            f"{ASSISTANT}/faq",
            original="parking",
            intent="parking",
            **{
                "keywords.en": "parking",
                "answer.en": "Parking is free for guests.",
                "keywords.es": "aparcamiento",
                "answer.es": "El aparcamiento es gratis.",
            },
        )
        page = await client.get(ASSISTANT)
        after_edit = await faq_of(suite)
        removed = await post_form(client, ASSISTANT, f"{ASSISTANT}/faq/remove", intent="parking")
    assert (added.status_code, added.headers["location"]) == (303, f"{ASSISTANT}?done=faq")
    assert edited.status_code == 303
    assert after_edit == [
        {
            "intent": "parking",
            "keywords": {"en": ("parking",), "es": ("aparcamiento",)},
            "answers": {"en": "Parking is free for guests.", "es": "El aparcamiento es gratis."},
        }
    ]
    assert "El aparcamiento es gratis." in page.text
    assert 'lang="es"' in page.text
    assert removed.status_code == 303
    assert await faq_of(suite) == []


async def test_faq_errors_are_next_to_their_fields_and_nothing_is_saved(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        await post_form(
            client,
            ASSISTANT,
            f"{ASSISTANT}/faq",
            original="",
            intent="wifi",
            **{"answer.en": "Yes"},
        )
        bad_intent = await post_form(
            client,
            ASSISTANT,
            f"{ASSISTANT}/faq",
            original="",
            intent="Bad Intent!",
            **{"keywords.en": "late", "answer.en": ""},
        )
        taken = await post_form(
            client, ASSISTANT, f"{ASSISTANT}/faq", original="", intent="wifi", **{"answer.en": "No"}
        )
    assert bad_intent.status_code == 422
    block = bad_intent.text[bad_intent.text.index('id="faq-new-intent"') :]
    assert "Not in the expected format." in block
    assert "Write the answer in at least one language." in bad_intent.text
    assert 'value="Bad Intent!"' in bad_intent.text
    assert taken.status_code == 422
    assert "Another entry has this intent." in taken.text
    assert [e["intent"] for e in await faq_of(suite)] == ["wifi"]


async def test_responder_language_and_fallback_through_the_api_validation(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        saved = await post_form(
            client,
            ASSISTANT,
            ASSISTANT,
            responder="faq",
            default_language="es",
            **{"fallback.en": "A person will answer.", "fallback.es": "Una persona responderá."},
        )
        wrong = await post_form(
            client, ASSISTANT, ASSISTANT, responder="oracle", default_language="Spanish"
        )
    assert saved.status_code == 303
    hotel = await suite.store.get_hotel("plaza")
    assert hotel is not None
    assert hotel.default_language == "es"
    assert hotel.fallback == {"en": "A person will answer.", "es": "Una persona responderá."}
    assert wrong.status_code == 422
    assert "Not in the expected format." in wrong.text
    after = await suite.store.get_hotel("plaza")
    assert after == hotel


async def test_a_channel_mode_changes_and_nothing_else(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    await put_demo_settings(suite, "plaza", {"simulated_guest_interval_seconds": 30})
    before = await suite.store.get_channel_config("plaza", "demo")
    assert before is not None
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        answer = await post_form(
            client, ASSISTANT, f"{ASSISTANT}/mode", channel="demo", mode="automatic"
        )
        missing = await post_form(
            client, ASSISTANT, f"{ASSISTANT}/mode", channel="email", mode="automatic"
        )
    after = await suite.store.get_channel_config("plaza", "demo")
    assert after is not None
    assert answer.status_code == 303
    assert missing.status_code == 404
    assert after.settings == {**before.settings, "mode": "automatic"}
    assert after.secrets == before.secrets


async def test_agents_get_no_assistant_or_operations(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        pages = [await client.get(p) for p in (ASSISTANT, OPERATIONS)]
        team = await client.get(TEAM)
        refused = await client.post(
            f"{ASSISTANT}/faq/remove", data={"form_token": form_token(team), "intent": "x"}
        )
    assert [p.status_code for p in pages] == [403, 403]
    assert refused.status_code == 403
    assert team.status_code == 200
    assert "manager@plaza.test" in team.text
    assert "Change role of" not in team.text
    assert "Bot tokens" not in team.text
    assert f'href="{ASSISTANT}"' not in team.text


async def test_an_owner_changes_roles_and_removes_members_but_not_themselves(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    agent, owner = plaza.members[Role.AGENT], plaza.members[Role.OWNER]
    async with suite.client() as client:
        await sign_in(client, "owner@plaza.test")
        promoted = await post_form(client, TEAM, f"{TEAM}/members/{agent.id}/role", role="manager")
        self_demoted = await post_form(
            client, TEAM, f"{TEAM}/members/{owner.id}/role", role="agent"
        )
        removed = await post_form(client, TEAM, f"{TEAM}/members/{agent.id}/remove")
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        by_manager = await post_form(client, TEAM, f"{TEAM}/members/{owner.id}/role", role="agent")
    assert promoted.status_code == removed.status_code == 303
    assert self_demoted.status_code == 403
    assert by_manager.status_code == 403
    assert await suite.store.get_membership("plaza", agent.id) is None
    own = await suite.store.get_membership("plaza", owner.id)
    assert own is not None
    assert own.role is Role.OWNER


async def test_a_personal_token_is_shown_once_works_and_is_revoked(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        created = await post_form(
            client, TEAM, f"{TEAM}/tokens", name="my script", expires_in_days="30"
        )
        again = await client.get(TEAM)
        found = SECRET.search(created.text)
        assert found is not None
        secret = found[1]
        [token] = await suite.store.list_credentials(
            CredentialKind.API_TOKEN, user_id=plaza.members[Role.AGENT].id
        )
        async with suite.client(headers=bearer(secret)) as script:
            me = await script.get("/api/v1/me")
        revoked = await post_form(client, TEAM, f"{TEAM}/tokens/{token.id}/revoke")
    assert created.status_code == 200
    assert created.headers["cache-control"] == "no-store"
    assert "shown this once" in created.text
    assert secret not in again.text
    assert "my script" in again.text
    assert token.expires_at is not None
    assert timedelta(days=29) < token.expires_at - utc_now() <= timedelta(days=30)
    assert me.status_code == 200
    assert revoked.status_code == 303
    assert await suite.store.get_credential(digest(secret)) is None


@pytest.mark.parametrize(
    ("path", "kind", "fields"),
    [
        ("tokens", CredentialKind.API_TOKEN, {"name": "my script", "expires_in_days": "30"}),
        ("bot-tokens", CredentialKind.BOT_TOKEN, {"name": "bot two"}),
    ],
)
async def test_a_token_form_sent_again_makes_no_second_token_nor_shows_the_secret_again(
    suite: RunningSuite, plaza: SeededHotel, path: str, kind: CredentialKind, fields: dict[str, str]
) -> None:
    """Its answer is a page, not a redirect: a reload sends the form again (same ``attempt``)."""
    owner = plaza.members[Role.OWNER].id
    scope = {"hotel": "plaza"} if kind is CredentialKind.BOT_TOKEN else {"user_id": owner}
    before = await suite.store.list_credentials(kind, **scope)
    async with suite.client() as client:
        await sign_in(client, "owner@plaza.test")
        page = await client.get(TEAM)
        attempt = ATTEMPT.search(page.text)
        assert attempt is not None
        form = {"form_token": form_token(page), "attempt": attempt[1], **fields}
        first = await client.post(f"{TEAM}/{path}", data=form)
        again = await client.post(f"{TEAM}/{path}", data=form)
        other = ATTEMPT.search(first.text)
        assert other is not None
        assert other[1] != attempt[1]
        another = await client.post(f"{TEAM}/{path}", data={**form, "attempt": other[1]})
        malformed = await client.post(f"{TEAM}/{path}", data={**form, "attempt": "x"})
    made = SECRET.search(first.text)
    assert made is not None
    assert (first.status_code, again.status_code, another.status_code) == (200, 200, 200)
    assert made[1] not in again.text
    assert SECRET.search(again.text) is None
    assert "This form was sent already" in again.text
    assert SECRET.search(another.text) is not None
    assert malformed.status_code == 400
    assert len(await suite.store.list_credentials(kind, **scope)) == len(before) + 2


async def test_someone_elses_token_is_not_found(suite: RunningSuite, plaza: SeededHotel) -> None:
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        created = await post_form(client, TEAM, f"{TEAM}/tokens", name="managers")
        assert created.status_code == 200
    [token] = await suite.store.list_credentials(
        CredentialKind.API_TOKEN, user_id=plaza.members[Role.MANAGER].id
    )
    async with suite.client() as client:
        await sign_in(client, "owner@plaza.test")
        answer = await post_form(client, TEAM, f"{TEAM}/tokens/{token.id}/revoke")
    assert answer.status_code == 404
    assert await suite.store.get_credential(token.digest) is not None


async def test_a_bot_token_is_created_by_an_owner_shown_once_and_revoked(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        refused = await post_form(client, TEAM, f"{TEAM}/bot-tokens", name="second bot")
    async with suite.client() as client:
        await sign_in(client, "owner@plaza.test")
        created = await post_form(client, TEAM, f"{TEAM}/bot-tokens", name="second bot")
        found = SECRET.search(created.text)
        assert found is not None
        async with suite.client(headers=bearer(found[1])) as bot:
            settings = await bot.get("/api/v1/hotels/plaza/bot/settings")
        page = await client.get(TEAM)
        revoked = await post_form(client, TEAM, f"{TEAM}/bot-tokens/{plaza.bot_token_id}/revoke")
    assert refused.status_code == 403
    assert created.status_code == 200
    assert "BEGASIST_BOT_TOKEN" in created.text
    assert settings.status_code == 200
    assert found[1] not in page.text
    assert "second bot" in page.text
    assert revoked.status_code == 303
    names = [
        c.name for c in await suite.store.list_credentials(CredentialKind.BOT_TOKEN, hotel="plaza")
    ]
    assert names == ["second bot"]


async def test_operations_show_the_bot_states_and_retry_a_dead_letter(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    await seed_hotel(suite, "sol")
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        page = await client.get(OPERATIONS)
        retried = await post_form(
            client, OPERATIONS, f"{OPERATIONS}/dead-letters/{plaza.dead_id}/retry"
        )
        again = await post_form(
            client, OPERATIONS, f"{OPERATIONS}/dead-letters/{plaza.dead_id}/retry"
        )
    assert page.status_code == 200
    assert "Not running" in page.text
    assert "provider said no" in page.text
    assert "message.send" in page.text
    assert "a reply from sol" not in page.text
    assert retried.headers["location"] == f"{OPERATIONS}?done=retried"
    assert again.status_code == 404
    entries = await suite.redis.xrange(suite.names.outbound("plaza"))
    assert len(entries) == 1


async def test_every_dead_letter_of_the_hotel_shows(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    await bury_outbound(suite, "plaza", "second failure")
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        page = await client.get(OPERATIONS)
    assert page.text.count("message.send") == 2


async def test_operations_page_the_dead_letters_fifty_at_a_time(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    for number in range(50):
        await bury_outbound(suite, "plaza", f"reply {number}")
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        first = await client.get(OPERATIONS)
        older = re.search(r'href="(/hotels/plaza/operations\?older=[0-9-]+)"', first.text)
        assert older is not None
        second = await client.get(older[1])
    retries = re.compile(r"/dead-letters/([0-9-]+)/retry")
    assert len(retries.findall(first.text)) == 50
    assert retries.findall(second.text) == [plaza.dead_id]  # the oldest, on its own
    assert "Older failures" not in second.text
    assert "Newest failures" in second.text
