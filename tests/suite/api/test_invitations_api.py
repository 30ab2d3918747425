"""Invitations through the API: a manager invites, the invitee accepts once, by link."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from begasist_suite.auth.credentials import digest
from begasist_suite.store.records import Role

from tests.suite.api.seed import json_of, seed_hotel
from tests.suite.conftest import PASSWORD, RunningSuite, add_member

pytestmark = pytest.mark.anyio

INVITATIONS = "/api/v1/hotels/plaza/invitations"
SEEDED = "invited@plaza.test"
"""The invitation every seeded hotel has pending."""


async def invite(suite: RunningSuite, by: str, body: dict[str, Any]) -> httpx.Response:
    async with suite.client() as client:
        await suite.login(client, by)
        return await client.post(INVITATIONS, json=body)


async def test_a_new_receptionist_joins_by_link_once(suite: RunningSuite) -> None:
    await seed_hotel(suite, "plaza")
    made = json_of(await invite(suite, "owner@plaza.test", {"email": "Rosa@Plaza.test"}))
    assert made["role"] == "agent"
    assert made["link"] == f"{suite.url}/invitations/{made['token']}"
    # Stored only as a digest: the secret is nowhere in the store's record.
    stored = await suite.store.get_invitation(digest(made["token"]))
    assert stored is not None
    assert made["token"] not in stored.model_dump_json()
    async with suite.client() as client:
        await suite.login(client, "manager@plaza.test")
        listed = json_of(await client.get(INVITATIONS))
    assert listed["next_cursor"] is None
    assert [(i["id"], i["email"]) for i in listed["items"]] == [
        (made["id"], "rosa@plaza.test"),
        (listed["items"][1]["id"], SEEDED),
    ]
    assert "token" not in listed["items"][0]
    link = f"/api/v1/invitations/{made['token']}"
    async with suite.client() as invitee:
        info = json_of(await invitee.get(link))
        assert (info["hotel"], info["has_account"], info["role"]) == ("plaza", False, "agent")
        short = await invitee.post(
            f"{link}/accept", json={"password": "short", "display_name": "R"}
        )
        assert short.status_code == 400
        body = {"password": "a long enough password", "display_name": "Rosa"}
        accepted = await invitee.post(f"{link}/accept", json=body)
        assert accepted.status_code == 200, accepted.text
        invitee.headers["x-csrf-token"] = accepted.json()["csrf_token"]
        me = json_of(await invitee.get("/api/v1/me"))
        assert me["user"]["display_name"] == "Rosa"
        assert me["memberships"] == [{"hotel": "plaza", "role": "agent"}]
        again = await invitee.post(f"{link}/accept", json=body)
        assert (again.status_code, again.json()["detail"]) == (410, "this invitation was used")
        assert (await invitee.get(link)).status_code == 410
    async with suite.client() as client:
        await suite.login(client, "rosa@plaza.test", "a long enough password")
        assert (await client.get("/api/v1/hotels/plaza/conversations")).status_code == 200


async def test_an_existing_account_accepts_with_its_password(suite: RunningSuite) -> None:
    await seed_hotel(suite, "plaza")
    await add_member(suite.store, "sol", "pablo@sol.test", Role.OWNER)
    made = json_of(
        await invite(suite, "owner@plaza.test", {"email": "pablo@sol.test", "role": "manager"})
    )
    link = f"/api/v1/invitations/{made['token']}"
    async with suite.client() as invitee:
        assert json_of(await invitee.get(link))["has_account"] is True
        wrong = await invitee.post(f"{link}/accept", json={"password": "not it"})
        assert wrong.status_code == 401
        accepted = await invitee.post(f"{link}/accept", json={"password": PASSWORD})
        assert accepted.status_code == 200, accepted.text
        invitee.headers["x-csrf-token"] = accepted.json()["csrf_token"]
        memberships = json_of(await invitee.get("/api/v1/me"))["memberships"]
    assert {(m["hotel"], m["role"]) for m in memberships} == {
        ("plaza", "manager"),
        ("sol", "owner"),
    }


async def test_roles_revocation_and_expiry(suite: RunningSuite) -> None:
    await seed_hotel(suite, "plaza")
    assert (await invite(suite, "agent@plaza.test", {"email": "a@b.test"})).status_code == 403
    above = await invite(suite, "manager@plaza.test", {"email": "a@b.test", "role": "owner"})
    assert above.status_code == 403
    member = await invite(suite, "owner@plaza.test", {"email": "agent@plaza.test"})
    assert member.status_code == 409
    made = json_of(await invite(suite, "manager@plaza.test", {"email": "a@b.test"}))
    async with suite.client() as client:
        await suite.login(client, "manager@plaza.test")
        assert (await client.delete(f"{INVITATIONS}/{made['id']}")).status_code == 204
        assert (await client.delete(f"{INVITATIONS}/{made['id']}")).status_code == 404
        assert [i["email"] for i in json_of(await client.get(INVITATIONS))["items"]] == [SEEDED]
    link = f"/api/v1/invitations/{made['token']}"
    async with suite.client() as invitee:
        revoked = await invitee.post(
            f"{link}/accept", json={"password": "x" * 12, "display_name": "A"}
        )
        assert (revoked.status_code, revoked.json()["detail"]) == (
            410,
            "this invitation was revoked",
        )
        assert (await invitee.get("/api/v1/invitations/bgi_nothing-at-all")).status_code == 404
    late = json_of(await invite(suite, "owner@plaza.test", {"email": "late@b.test"}))
    stored = await suite.store.get_invitation(digest(late["token"]))
    assert stored is not None
    await suite.store.database.collection("credentials").update_one(
        {"_id": f"invite|{stored.digest}"},
        {"$set": {"expires_at": (stored.created_at - timedelta(seconds=1)).isoformat()}},
    )
    async with suite.client() as invitee:
        expired = await invitee.get(f"/api/v1/invitations/{late['token']}")
    assert (expired.status_code, expired.json()["detail"]) == (410, "this invitation was expired")
    assert await suite.store.get_user_by_email("late@b.test") is None


async def test_guessing_links_is_throttled_like_the_login(suite: RunningSuite) -> None:
    statuses = []
    async with suite.client() as client:
        for number in range(suite.settings.login_attempts + 1):
            answer = await client.get(f"/api/v1/invitations/bgi_guess-{number:04d}")
            statuses.append(answer.status_code)
    assert statuses[-1] == 429
    assert set(statuses[:-1]) == {404}


async def test_invitations_list_in_pages(suite: RunningSuite) -> None:
    await seed_hotel(suite, "plaza")
    made = [
        json_of(await invite(suite, "owner@plaza.test", {"email": f"p{n}@b.test"}))["id"]
        for n in range(5)
    ]
    seen: list[str] = []
    async with suite.client() as client:
        await suite.login(client, "owner@plaza.test")
        cursor = None
        while True:
            query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
            page = json_of(await client.get(INVITATIONS, params=query))
            seen += [i["id"] for i in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert seen[:-1] == list(reversed(made))  # newest first; the seeded one is the oldest


async def test_the_same_idempotency_key_makes_one_invitation(suite: RunningSuite) -> None:
    await seed_hotel(suite, "plaza")
    async with suite.client() as client:
        await suite.login(client, "owner@plaza.test")
        headers = {"idempotency-key": "invite-rosa-1"}
        body = {"email": "rosa@plaza.test"}
        first = await client.post(INVITATIONS, json=body, headers=headers)
        again = await client.post(INVITATIONS, json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    emails = [i.email for i in await suite.store.list_invitations("plaza")]
    assert emails.count("rosa@plaza.test") == 1


async def test_an_acceptance_that_fails_midway_leaves_the_link_usable(
    suite: RunningSuite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store failing after the invitation was taken gives it back: the invitee tries
    again with the same link and password and becomes a member (nothing lost)."""
    await seed_hotel(suite, "plaza")
    made = json_of(await invite(suite, "owner@plaza.test", {"email": "tomas@plaza.test"}))
    real = suite.store.set_membership
    failures = []

    async def failing_once(*args: Any, **kwargs: Any) -> Any:
        if not failures:
            failures.append(args)
            raise RuntimeError("the store went away")
        return await real(*args, **kwargs)

    monkeypatch.setattr(suite.store, "set_membership", failing_once)
    link = f"/api/v1/invitations/{made['token']}"
    body = {"password": "a long enough password", "display_name": "Tomás"}
    async with suite.client() as invitee:
        failed = await invitee.post(f"{link}/accept", json=body)
        assert failed.status_code == 500
        assert json_of(await invitee.get(link))["has_account"] is True
        accepted = await invitee.post(f"{link}/accept", json=body)
        assert accepted.status_code == 200, accepted.text
        invitee.headers["x-csrf-token"] = accepted.json()["csrf_token"]
        me = json_of(await invitee.get("/api/v1/me"))
        assert me["memberships"] == [{"hotel": "plaza", "role": "agent"}]
        assert (await invitee.get(link)).status_code == 410
