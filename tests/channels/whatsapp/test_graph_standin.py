"""The Graph API stand-in answers as Meta does: limits, auth, payload checks, scripted failures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from begasist_channels_whatsapp.testing import GraphStandin

TOKEN = "standin-test-token"
NUMBER = "1122334455667"


def text(to: str = "34600000001", body: str = "Hi") -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": body}}


@pytest.fixture
def graph() -> Iterator[GraphStandin]:
    with GraphStandin(token=TOKEN, messages_per_second=3, pair_limit=2) as standin:
        yield standin


def post(graph: GraphStandin, payload: Any, token: str = TOKEN) -> httpx.Response:
    return httpx.post(
        f"{graph.base_url}/v21.0/{NUMBER}/messages",
        json=payload,
        headers={"Authorization": f"Bearer {token}"},
    )


def test_an_accepted_message_is_answered_with_a_unique_wamid(graph: GraphStandin) -> None:
    answers = [post(graph, text(to=f"3460000000{n}")).json() for n in range(2)]
    assert answers[0]["messaging_product"] == "whatsapp"
    assert answers[0]["contacts"] == [{"input": "34600000000", "wa_id": "34600000000"}]
    wamids = [answer["messages"][0]["id"] for answer in answers]
    assert len(set(wamids)) == 2
    assert all(wamid.startswith("wamid.") for wamid in wamids)
    assert [message.wamid for message in graph.accepted] == wamids


def test_a_wrong_token_is_code_190(graph: GraphStandin) -> None:
    answer = post(graph, text(), token="nope")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == 190
    assert graph.accepted == []
    assert not graph.requests[0].authorized


def test_over_the_throughput_is_130429_as_meta_answers_it(graph: GraphStandin) -> None:
    codes = [post(graph, text(to=f"3460000000{n}")).status_code for n in range(5)]
    assert codes == [200, 200, 200, 400, 400]
    assert graph.throttled == 2
    error = post(graph, text(to="34600000009")).json()["error"]
    assert (error["code"], error["message"]) == (130429, "(#130429) Rate limit hit")


def test_over_the_pair_limit_is_131056(graph: GraphStandin) -> None:
    codes = [post(graph, text()).status_code for _ in range(3)]
    assert codes == [200, 200, 400]
    assert graph.pair_limited == 1


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"to": "1", "type": "text", "text": {"body": "x"}}, 100),
        ({**text(), "to": ""}, 131008),
        ({**text(), "type": "hologram"}, 131009),
        ({**text(), "text": {"body": "x" * 4097}}, 131009),
        ({**text(), "type": "image", "image": {"link": "ftp://x"}}, 131009),
        ({**text(), "type": "audio", "audio": {"id": "1", "caption": "no"}}, 131009),
        ({**text(), "type": "image", "image": {"id": "1", "link": "https://x"}}, 131009),
        ({**text(), "type": "template", "template": {"name": "x"}}, 131008),
    ],
)
def test_a_malformed_payload_is_refused(graph: GraphStandin, payload: Any, code: int) -> None:
    answer = post(graph, payload)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == code


def test_scripted_failures_come_after_the_given_successes(graph: GraphStandin) -> None:
    graph.fail_next(1, status=503, code=131016, title="Service unavailable", retry_after=2, after=1)
    first, second, third = (post(graph, text(to=f"3460000000{n}")) for n in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (200, 503, 200)
    assert second.headers["retry-after"] == "2"
    assert second.json()["error"]["message"] == "(#131016) Service unavailable"


def test_media_metadata_then_download_with_the_token(graph: GraphStandin) -> None:
    graph.add_media("4455", b"\x89PNG...", "image/png")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    metadata = httpx.get(f"{graph.base_url}/v21.0/4455", headers=auth).json()
    assert metadata["file_size"] == 7
    assert metadata["mime_type"] == "image/png"
    assert httpx.get(metadata["url"]).status_code == 401
    download = httpx.get(metadata["url"], headers=auth)
    assert (download.headers["content-type"], download.content) == ("image/png", b"\x89PNG...")
