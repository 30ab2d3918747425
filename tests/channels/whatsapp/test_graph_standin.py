"""The Graph API stand-in answers as Meta does: limits, auth, payload checks, scripted failures."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest
from begasist_channels_whatsapp import read_webhook
from begasist_channels_whatsapp.signature import check_signature
from begasist_channels_whatsapp.testing import GraphStandin, StatusCallback
from begasist_core import DeliveryStatus, MessageStatusChanged, WebhookRejected

from tests.channels.whatsapp.samples import settings

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


class _Receiver(BaseHTTPRequestHandler):
    """Records each POST (raw body and headers); refuses the first one, as a busy server may."""

    received: ClassVar[list[tuple[bytes, dict[str, str]]]] = []
    refusals: ClassVar[int] = 1

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        if _Receiver.refusals > 0:
            _Receiver.refusals -= 1
            self.send_response(503)
        else:
            headers = {key.lower(): value for key, value in self.headers.items()}
            _Receiver.received.append((body, headers))
            self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads what was received."""


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.received, _Receiver.refusals = [], 1
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/webhooks/plaza/whatsapp"
    finally:
        server.shutdown()
        server.server_close()


def test_accepted_messages_get_a_signed_sent_status_with_their_callback_data(
    graph: GraphStandin, receiver: str
) -> None:
    secret = "app-secret"
    graph.send_statuses({NUMBER: StatusCallback(receiver, secret)}, delay=0.01)
    answer = post(graph, {**text(), "biz_opaque_callback_data": "bgs1:m-1:0"}).json()
    wamid = answer["messages"][0]["id"]
    httpx.post(
        f"{graph.base_url}/v21.0/999/messages",
        json=text(),
        headers={"Authorization": f"Bearer {TOKEN}"},
    )  # another number: no callback, no status
    deadline = time.monotonic() + 5
    while not _Receiver.received and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)
    [(body, headers)] = _Receiver.received
    check_signature(secret, body, headers["x-hub-signature-256"])
    with pytest.raises(WebhookRejected):
        check_signature("another-secret", body, headers["x-hub-signature-256"])
    contents = read_webhook(
        body, hotel="plaza", settings=settings(phone_number_id=NUMBER, app_secret=secret)
    )
    [event] = contents.events
    assert isinstance(event, MessageStatusChanged)
    assert (event.provider_message_id, event.status) == (wamid, DeliveryStatus.SENT)
    assert [(part.message_id, part.index, part.wamid) for part in contents.reported_parts] == [
        ("m-1", 0, wamid)
    ]
    assert graph.statuses is not None
    assert (graph.statuses.delivered, graph.statuses.abandoned) == (1, 0)


def test_the_command_line_serves_on_the_host_and_port_given(tmp_path: Any) -> None:
    import socket
    import subprocess
    import sys

    # 127.0.0.2 is loopback too on Linux, and not the default host: the flag must be used.
    with socket.socket() as probe:
        probe.bind(("127.0.0.2", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "begasist_channels_whatsapp.testing.graph_standin",
        "--host",
        "127.0.0.2",
        "--port",
        str(port),
        "--token",
        TOKEN,
    ]
    log = tmp_path / "standin.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=output)
    try:
        url = f"http://127.0.0.2:{port}/v21.0/{NUMBER}/messages"
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.post(url, json=text(), headers={"Authorization": f"Bearer {TOKEN}"})
                break
            except httpx.TransportError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
        assert answer.status_code == 200, answer.text
        assert answer.json()["messages"][0]["id"].startswith("wamid.")
        assert f"http://127.0.0.2:{port}" in log.read_text()
    finally:
        process.terminate()
        process.wait(timeout=15)
